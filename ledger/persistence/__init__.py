"""Adapters to the event store: URLs, migrations, recorders and the event mapper."""
