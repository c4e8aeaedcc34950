"""Read models built from the ledger's events (bitemporal history tables)."""
