"""Step slots the federation, cross-check and reports work fills in.

Each slot is a step of the scenario whose action lives here. Until the machinery it
needs exists, it says "not available yet" and what is missing — the demo never fakes a
step. To fill one, replace the body of its function (keep the name and signature: the
scenario refers to it by name), do the real thing through the same commands and APIs
an operator would use, check the result with :func:`hub.demo.scenario.check`, record
the facts the demo's test should verify with ``world.ledger.event(...)``, and return
:func:`hub.demo.scenario.done` with one line of figures.

- :func:`package_up` (issue 6, upward): every district packages what it merged for its
  city, every city for the province, each package authorised and receipted; the province
  then holds every town's records. Once it runs, the summary and the demo's test count the
  province's own records instead of the districts'.
- :func:`crosscheck_round` (issue 7, filled: hub/demo/steps_crosscheck.py): a generated
  household register imported at a district hub (``muster hub crosscheck import``),
  problems routed down to the town of household registration, a collector fixes one and
  answers one, the re-check closes the fix and the answer is accepted.
- :func:`province_report` (issue 8, filled: hub/demo/steps_report.py): the province
  report, XLSX and HTML, and the ministry's output, written under ``world.layout.reports``
  with their paths in the line.
"""

from __future__ import annotations

from hub.demo import steps_crosscheck, steps_report
from hub.demo.scenario import Outcome, not_available
from hub.demo.world import World

__all__ = ["crosscheck_round", "package_up", "province_report"]


async def package_up(world: World) -> Outcome:  # noqa: ARG001 - a slot
    """Slot: districts → cities → province packages (issue 6, upward)."""
    return not_available(
        "hubs do not package for their parents yet (issue 6: hub agents, packages, "
        "provenance); the summary counts the districts' records meanwhile"
    )


async def crosscheck_round(world: World) -> Outcome:
    """One cross-check round (issue 7): hub/demo/steps_crosscheck.py."""
    return await steps_crosscheck.crosscheck_round(world)


async def province_report(world: World) -> Outcome:
    """The province report, XLSX and HTML, and the ministry's output (issue 8):
    hub/demo/steps_report.py."""
    return await steps_report.province_report(world)
