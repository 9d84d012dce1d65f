"""The hub's admin console: a server-rendered sub-app on the web kit (docs/hub.md, "Console").

Simplified Chinese first, English available. Every page is limited to the logged-in
account's jurisdiction; roles decide what it may do (``hub.accounts.PERMISSIONS``).
"""

from __future__ import annotations

from hub.console.app import (
    CONSOLE_PACKAGE,
    CONSOLE_PREFIX,
    create_console,
    mount_console,
    web_config_for,
)
from hub.console.errors import FormError
from hub.console.jobs import JobBoard, JobRun

__all__ = [
    "CONSOLE_PACKAGE",
    "CONSOLE_PREFIX",
    "FormError",
    "JobBoard",
    "JobRun",
    "create_console",
    "mount_console",
    "web_config_for",
]
