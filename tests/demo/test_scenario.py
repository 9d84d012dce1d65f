"""A scenario prints one line per step, says plainly what is not built yet, and stops at the
first check that fails."""

from __future__ import annotations

import pytest

from hub.demo.errors import DemoCheckError, DemoProcessError, TopologyError
from hub.demo.scenario import Outcome, Scenario, Step, check, done, not_available


class World:
    def __init__(self) -> None:
        self.ran: list[str] = []


def _step(name: str, outcome: Outcome | Exception) -> Step[World]:
    async def action(world: World) -> Outcome:
        world.ran.append(name)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return Step(name=name, title=f"step {name}", action=action)


async def test_each_step_prints_one_line_with_its_figures() -> None:
    lines: list[str] = []
    scenario = Scenario(
        (_step("a", done("3 bundles up")), _step("bb", not_available("no packages")))
    )
    ran = await scenario.run(World(), say=lines.append)
    assert len(lines) == 2
    assert lines[0].startswith("[ 1/2] step a ")
    assert lines[0].endswith(" s)")
    assert "3 bundles up" in lines[0]
    assert lines[1] == "[ 2/2] step bb  not available yet: no packages"
    assert [r.outcome.available for r in ran] == [True, False]


async def test_a_failed_check_stops_the_scenario_and_names_the_step() -> None:
    world, lines = World(), list[str]()
    scenario = Scenario(
        (
            _step("a", done("ok")),
            _step("b", DemoCheckError("sync of 370102001-01: expected synced, got sync_failed")),
            _step("c", done("never")),
        )
    )
    with pytest.raises(DemoCheckError) as caught:
        await scenario.run(world, say=lines.append)
    assert caught.value.fields["step"] == "b"
    assert world.ran == ["a", "b"]
    assert lines[-1] == (
        "[ 2/3] step b  FAILED: sync of 370102001-01: expected synced, got sync_failed"
    )


async def test_other_errors_are_shown_on_the_step_line_too() -> None:
    lines: list[str] = []
    scenario = Scenario((_step("a", DemoProcessError("hub-370102 exited while starting")),))
    with pytest.raises(DemoProcessError):
        await scenario.run(World(), say=lines.append)
    assert lines == ["[ 1/1] step a  FAILED: hub-370102 exited while starting"]


async def test_a_slot_takes_a_new_action_by_name() -> None:
    scenario = Scenario((_step("a", done("one")), _step("slot", not_available("later"))))
    filled = scenario.with_action("slot", _step("slot", done("now it runs")).action)
    lines: list[str] = []
    await filled.run(World(), say=lines.append)
    assert "now it runs" in lines[1]
    assert filled.names == scenario.names
    with pytest.raises(TopologyError, match="no step 'nope'"):
        scenario.with_action("nope", _step("x", done("")).action)


def test_step_names_are_unique() -> None:
    with pytest.raises(TopologyError, match="step names must be unique"):
        Scenario((_step("a", done("")), _step("a", done(""))))


def test_check_raises_with_the_message_and_fields() -> None:
    check(True, "never raised")
    with pytest.raises(DemoCheckError, match="expected 1 conflict, got 0") as caught:
        check(False, "expected 1 conflict, got 0", hub="370102")
    assert caught.value.fields == {"hub": "370102"}
