"""The CRM double: LagostaCRM's `/api/chatwoot/webhook` and public API v1 subset with the
intended v2 behaviour, on the sandbox's PostgreSQL (real table and column names).

Modules: `rules` (its own reading of the identity rules: phones, IGSIDs, emails), `webhook`
(signature, tenant, conversation links, message cache), `resolver` (identity resolution),
`public_api` (routes, API-key auth, organisation and boards) with `api_contacts`, `api_deals`
and `api_common`, `app` (the ASGI app and `schema.sql`).
"""
