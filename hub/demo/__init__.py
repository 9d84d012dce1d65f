"""The demo: a small province on loopback, run as separate processes (``muster demo``).

A :class:`Province` says which sites there are; the :class:`Launcher` sets them up
(init, enrollment through the admin API, accounts) and starts, stops and waits for
their processes; a :class:`Scenario` of named steps drives the people at work (through
the nodes' UIs and the hubs' admin API) and checks each result; the summary is read
from the province's admin API and stores. docs/demo.md describes it.
"""

from hub.demo.launcher import Launcher
from hub.demo.layout import DemoLayout
from hub.demo.scenario import Outcome, Scenario, Step, check, done, not_available
from hub.demo.topology import Province, Site, SiteKind
from hub.demo.world import DemoOptions, Ledger, World

__all__ = [
    "DemoLayout",
    "DemoOptions",
    "Launcher",
    "Ledger",
    "Outcome",
    "Province",
    "Scenario",
    "Site",
    "SiteKind",
    "Step",
    "World",
    "check",
    "done",
    "not_available",
]
