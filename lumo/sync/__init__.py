"""The sync engine: initial sync, webhooks, manual re-sync, reconciliation, history and status.

Entry points other code calls live in `lumo.sync.service` (start a sync, remove the
integration), `lumo.sync.status` (what the Dashboard shows), `lumo.sync.deliveries` (webhook
intake and apply) and `lumo.sync.connection` (OAuth install and the connection's health).
"""
