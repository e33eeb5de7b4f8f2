"""The monitoring window after a run (crm-contract §6.2–§6.3): what can be observed of an
organisation from outside the CRM — its resolution log, its conversation links, its n8n
executions — watched over a window and judged against the rollback thresholds."""
