"""The embedded staging stack: CRM, Chatwoot and n8n doubles on a throwaway PostgreSQL.

The suite talks to it over HTTP and SQL only, exactly as to a real staging.

One subpackage per system: `crm/`, `chatwoot/`, `n8n/`. The shared plumbing is here: `stack`
(start, stop, the profiles it writes), `seed`, `faults`, `control`, `postgres`, `db`,
`servers`, `worker` and `__main__`.
"""
