"""The kernel every part stands on: config, database and tenancy, roles, dev servers."""
