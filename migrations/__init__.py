"""Alembic migrations: they own every table of the ledger in production."""
