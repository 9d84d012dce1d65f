"""Step slots the federation, cross-check and reports work filled in.

Each slot is a step of the scenario whose action lives here. Until the machinery it
needs exists, a slot says "not available yet" and what is missing
(:func:`hub.demo.scenario.not_available`) — the demo never fakes a step. To fill one,
replace the body of its function (keep the name and signature: the scenario refers to
it by name), do the real thing through the same commands and APIs an operator would
use, check the result with :func:`hub.demo.scenario.check`, record the facts the demo's
test should verify with ``world.ledger.event(...)``, and return
:func:`hub.demo.scenario.done` with one line of figures.

- :func:`package_up` (issue 6, upward, filled: hub/demo/steps_upward.py): every district
  packages what it merged for its city, every city for the province, each package
  authorised and receipted, held packages approved by the city's and the province's
  administrators; the province then holds every town's records, and the summary and the
  demo's test count the province's own records instead of the districts'.
- :func:`crosscheck_round` (issue 7, filled: hub/demo/steps_crosscheck.py): a generated
  household register imported at a district hub (``muster hub crosscheck import``),
  problems routed down to the town of household registration, a collector fixes one and
  answers one, the re-check closes the fix and the answer is accepted.
- :func:`province_report` (issue 8, filled: hub/demo/steps_report.py): the province
  report, XLSX and HTML, and the ministry's output, written under ``world.layout.reports``
  with their paths in the line.
"""

from __future__ import annotations

from hub.demo import steps_crosscheck, steps_report, steps_upward
from hub.demo.scenario import Outcome
from hub.demo.world import World

__all__ = ["crosscheck_round", "package_up", "province_report"]


async def package_up(world: World) -> Outcome:
    """Packages up the tree to the province (issue 6, upward): hub/demo/steps_upward.py."""
    return await steps_upward.package_up(world)


async def crosscheck_round(world: World) -> Outcome:
    """One cross-check round (issue 7): hub/demo/steps_crosscheck.py."""
    return await steps_crosscheck.crosscheck_round(world)


async def province_report(world: World) -> Outcome:
    """The province report, XLSX and HTML, and the ministry's output (issue 8):
    hub/demo/steps_report.py."""
    return await steps_report.province_report(world)
