"""The append-only, hash-chained event log: the registry's source of truth."""
