"""Wires golive into pytest: the plugin, the fixture modules and the step modules."""

pytest_plugins = [
    "golive.runtime.plugin",
    "fixtures.clients",
    "fixtures.roles",
    "steps.customer",
    "steps.crm",
    "steps.deals",
    "steps.database",
    "steps.security",
    "steps.operations",
    "steps.isolation",
    "steps.n8n",
    "steps.preactivation",
    "steps.ui",
    "steps.rls",
    "steps.backfill",
    "steps.traffic",
    "steps.records",
    "steps.api_directory",
]
