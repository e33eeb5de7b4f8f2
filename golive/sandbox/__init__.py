"""The embedded staging stack: CRM and Chatwoot doubles on a throwaway PostgreSQL, and a real
n8n (with Redis and a model double) running each organisation's agent flow — or the n8n double.

The suite talks to it over HTTP, SQL and Redis only, exactly as to a real staging.

One subpackage per system: `crm/`, `chatwoot/`, `n8n/` (the n8n double), `n8n_real/` (the real
n8n: install, process, setup) and `model/` (the OpenAI-compatible model double). The shared
plumbing is here: `stack` (start, stop, the profiles it writes), `n8n_side` (which n8n runs, and
its per-organisation workflows and faults), `workflows` (the template and its variants, rewritten
per organisation), `redis`, `seed`, `faults`, `control`, `postgres`, `db`, `servers`, `worker`
and `__main__`.
"""
