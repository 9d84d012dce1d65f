"""The console's fixtures (a hub with accounts of every role, ``as_role``) for these probes."""

from tests.hub.conftest import deltas, pki
from tests.hub.console.conftest import accounts_db, as_role, console_hub, scenario

__all__ = ["accounts_db", "as_role", "console_hub", "deltas", "pki", "scenario"]
