"""The node agent: local store, collector driver, operator web UI, batch
authorisation, outbox and inbox, sync client, scheduler and CLI.

The node depends on :mod:`protocol` and :mod:`crypto` and never on :mod:`hub`.
"""
