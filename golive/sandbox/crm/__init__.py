"""The CRM double: LagostaCRM's `/api/chatwoot/webhook` and public API v1 subset with the
intended v2 behaviour, on the sandbox's PostgreSQL (real table and column names).

Modules: `inputs` (untrusted bytes and values: every bad input becomes a 4xx), `rules` (its own
reading of the identity rules: phones, IGSIDs, emails), `webhook` (signature, tenant, dispatch),
`links` (conversation events), `messages` (the message cache), `resolver` (identity resolution)
and `racy_resolver` (the same, run as the real CRM runs it, for the race fault), `real_defects`
(the real CRM's readings the §7 faults switch on), `public_api` (routes, API-key auth,
organisation and boards) with `api_contacts`, `api_deals` and `api_common`, `app` (the ASGI app
and `schema.sql`).
"""
