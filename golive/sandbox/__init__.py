"""The embedded staging stack: CRM, Chatwoot and n8n doubles on a throwaway PostgreSQL.

The suite talks to it over HTTP and SQL only, exactly as to a real staging.
"""
