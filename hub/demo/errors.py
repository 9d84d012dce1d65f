"""Errors of the demo (see the tree in :mod:`crypto.errors`).

::

    StateError
    ├── hub.demo.DemoBusyError      a demo still runs in that directory
    ├── hub.demo.DemoCheckError     a step saw something else than it expected
    └── hub.demo.DemoProcessError   a demo process exited, or never became ready
    UsageError
    ├── hub.demo.DemoDirError       --dir holds files that are not a demo's
    └── hub.demo.TopologyError      a province that is not a tree of hubs and nodes
"""

from __future__ import annotations

from crypto.errors import StateError, UsageError

__all__ = ["DemoBusyError", "DemoCheckError", "DemoDirError", "DemoProcessError", "TopologyError"]


class DemoCheckError(StateError):
    """A scenario step checked its result and found something else than it expected.

    The message names the step's check, what was expected and what was seen (ids and
    counts only); ``step`` is the step's name.
    """

    code = "demo_check_failed"


class DemoProcessError(StateError):
    """A hub, node or simulator process of the demo exited, or never became ready."""

    code = "demo_process_failed"

    def diagnostics(self) -> str:
        log = self.fields.get("log")
        return f"its log is {log}" if log else ""


class DemoBusyError(StateError):
    """The demo directory's processes are still running (a demo run with ``--keep``)."""

    code = "demo_running"

    def diagnostics(self) -> str:
        return "Stop it with `muster demo --stop --dir DIR`, or choose another --dir."


class DemoDirError(UsageError):
    """The demo directory holds files that are not a previous demo's: it is never wiped."""

    code = "demo_dir"


class TopologyError(UsageError):
    """A :class:`~hub.demo.topology.Province` that is not a tree of hubs and nodes."""

    code = "demo_topology"
