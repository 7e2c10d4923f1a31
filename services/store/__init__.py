"""The store: every lead, discard and DLQ record in the database, idempotently (docs/store.md)."""
