"""Integrations: each a short job on top of the client, the sync engine and the runtime glue."""
