"""``muster demo``: build the province, run the scenario, print the summary, clean up.

The run's life, whatever happens: the directory is prepared (a previous demo's is
wiped, anything else is refused), the scenario runs step by step, the ledger and the
summary are written, and every process is stopped — on success, on a failed check,
on an error, on Ctrl-C and on SIGTERM — unless ``--keep`` asked to leave a successful
run's province running, in which case the console addresses and demo logins are printed
with the command that stops it.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import signal
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final

from crypto.errors import MusterError
from hub.demo import slots
from hub.demo.commands import CommandRunner
from hub.demo.launcher import Launcher
from hub.demo.layout import DemoLayout, pid_alive
from hub.demo.people import HUB_ADMIN, SITE_ADMIN
from hub.demo.processes import Supervisor
from hub.demo.records import PlannedRecord, card_for, plan_collection
from hub.demo.scenario import Outcome, Scenario, Step, done
from hub.demo.steps_events import revoked, usb
from hub.demo.steps_review import decisions, review
from hub.demo.steps_towns import (
    collect,
    conflict,
    duplicate,
    first_sync,
    identity_edit,
    province_up,
    roles,
    second_batch,
    sign_batches,
)
from hub.demo.summary import gather_summary
from hub.demo.topology import Province, Site
from hub.demo.world import DemoOptions, World
from node.fsutil import write_atomic
from protocol.schema import Schema

__all__ = ["default_scenario", "run_demo"]

#: Records the USB town sends on the stick, and the lost laptop holds.
USB_RECORDS: Final = 2
LAPTOP_RECORDS: Final = 2


def default_scenario() -> Scenario[World]:
    """The demo's steps, in order (``hub.demo.slots`` holds the ones still to come)."""
    return Scenario(
        (
            Step(name="province", title="set up the province", action=province_up),
            Step(name="collect", title="towns collect", action=collect),
            Step(name="authorise", title="approvers authorise", action=sign_batches),
            Step(name="sync", title="towns sync with districts", action=first_sync),
            Step(name="conflict", title="two collectors, one record", action=conflict),
            Step(name="duplicate", title="one person, two towns", action=duplicate),
            Step(name="identity_edit", title="a name changed without proof", action=identity_edit),
            Step(name="held", title="second batches held", action=second_batch),
            Step(name="usb", title="a batch on a USB stick", action=usb),
            Step(name="revoked", title="a lost laptop sends", action=revoked),
            Step(name="review", title="districts review (admin API)", action=review),
            Step(name="decisions", title="decisions come down", action=decisions),
            Step(name="package_up", title="packages up to the province", action=slots.package_up),
            Step(name="crosscheck", title="cross-check round", action=slots.crosscheck_round),
            Step(name="report", title="province report", action=slots.province_report),
            Step(name="summary", title="province summary", action=summarise),
        )
    )


async def summarise(world: World) -> Outcome:
    """Gather the summary from the hubs; it is printed after the steps and kept as JSON."""
    summary = await gather_summary(world.launcher, elapsed_seconds=time.monotonic() - world.started)
    body = json.dumps(summary.to_dict(), ensure_ascii=False, indent=2)
    write_atomic(world.layout.summary, body.encode("utf-8"), mode=0o644)
    world.summary_lines = summary.lines(world.province, world.schema)
    return done(
        f"{summary.persons} persons held at the top of the tree; written to "
        f"{world.layout.summary.name}"
    )


def _plan(province: Province, options: DemoOptions, today: date) -> tuple[PlannedRecord, ...]:
    towns = [s for s in province.nodes if s.ident.endswith("-01")]
    spare = [s for s in province.nodes if not s.ident.endswith("-01")]
    batches = [("collect", t.ident, options.per_town) for t in towns]
    batches.append(("usb", towns[-1].ident, USB_RECORDS))
    batches += [("laptop", s.ident, LAPTOP_RECORDS) for s in spare[:1]]
    return plan_collection(batches, seed=options.seed, today=today)


def _reader_cards(
    layout: DemoLayout, towns: tuple[Site, ...], plan: tuple[PlannedRecord, ...]
) -> dict[str, Path]:
    """Each town's reader holds the card of the first person it collects."""
    cards: dict[str, Path] = {}
    for town in towns:
        first = next(p for p in plan if p.key == f"collect/{town.ident}#1")
        path = layout.reader_cards(town.ident)
        path.write_text(json.dumps([card_for(first)], ensure_ascii=False), "utf-8")
        cards[town.ident] = path
    return cards


def _keep_message(launcher: Launcher, layout: DemoLayout) -> list[str]:
    """What stays running, how to log in, and how to stop it (sites not running are left out)."""
    running = set(launcher.supervisor.names)
    lines = ["", "The province keeps running (--keep). Consoles and demo logins:"]
    for site in launcher.province.hubs:
        if f"hub-{site.ident}" in running:
            password = launcher.password(site.ident, HUB_ADMIN.login)
            lines.append(
                f"  {site.name} {site.ident}: {launcher.url(site.ident)}/console/  "
                f"{HUB_ADMIN.login} / {password}"
            )
    lines.append("Node UIs (site administrator, collectors, approver):")
    for site in launcher.province.nodes:
        if f"node-{site.ident}" in running:
            logins = (SITE_ADMIN.login, *(p.login for p in launcher.people(site.ident)))
            people = ", ".join(f"{x} / {launcher.password(site.ident, x)}" for x in logins)
            lines.append(f"  {site.name} {site.ident}: {launcher.url(site.ident)}/  {people}")
    lines.append(f"The passwords are also in {layout.secrets}; the logs in {layout.logs}.")
    lines.append(f"Stop it with: muster demo --stop --dir {layout.root}")
    return lines


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def run_demo(
    layout: DemoLayout,
    options: DemoOptions,
    *,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = _stderr,
    scenario: Scenario[World] | None = None,
) -> int:
    """Run the demo in ``layout``'s directory; return the exit status (0: every check held).

    Ctrl-C (SIGINT) or SIGTERM stops it at once: no further set-up command or step
    starts, every process is stopped, ``warn`` is told in one line what was interrupted,
    and the status is 130 (143 for SIGTERM). A second one kills the processes outright.
    Cancelling the task stops it the same way but raises ``CancelledError``.

    Raises:
        DemoDirError, DemoBusyError: the directory cannot be used.
        DemoCheckError: a step found something else than it expected (processes stopped).
        DemoProcessError: a process failed (processes stopped).
    """
    started = time.monotonic()
    layout.prepare()
    province, schema, today = Province.demo(), Schema.default(), date.today()
    plan = _plan(province, options, today)
    towns = tuple(s for s in province.nodes if s.ident.endswith("-01"))
    supervisor = Supervisor(layout, die_with_parent=not options.keep)
    runner = CommandRunner(layout)
    # The last resort, should the event loop itself be torn down.
    atexit.register(supervisor.kill_all_now)
    detail = layout.log("demo").open("a", encoding="utf-8")
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    doing = "before the first step"
    # The first SIGINT or SIGTERM, and how many set-up commands had started by then.
    signals: list[signal.Signals] = []
    ran: list[int] = []

    def stop(signum: signal.Signals) -> None:
        if signals:  # the second: no grace any more
            supervisor.kill_all_now()
            return
        signals.append(signum)
        # Closed now, before the cancellation reaches the tasks waiting for their commands.
        # The processes are stopped once the command already running has ended: it may
        # be talking to one of them (killed under it, it would retry for seconds).
        ran.append(runner.close())
        if task is not None:
            task.cancel()

    def begin(step: str) -> None:
        nonlocal doing
        doing = step
        print(f"{step} starts", file=detail, flush=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    kept = False
    interrupted = False
    processes = 0
    world: World | None = None
    say(f"Muster demo in {layout.root}: a province on 127.0.0.1 (logs in {layout.logs})")
    try:
        async with runner:
            launcher = Launcher(
                province,
                layout,
                runner=runner,
                supervisor=supervisor,
                say=lambda text: print(text, file=detail, flush=True),
                readers=_reader_cards(layout, towns, plan),
            )
            world = World(
                province=province,
                layout=layout,
                options=options,
                launcher=launcher,
                plan=plan,
                schema=schema,
                today=today,
                note=lambda text: print(text, file=detail, flush=True),
                started=started,
            )
            roles(world)
            await (scenario or default_scenario()).run(world, say=say, begin=begin)
            world.save_ledger()
            if world.summary_lines:
                say("")
                for line in world.summary_lines:
                    say(line)
            if options.keep:
                for line in _keep_message(launcher, layout):
                    say(line)
                supervisor.detach()
                atexit.unregister(supervisor.kill_all_now)
                kept = True
    except asyncio.CancelledError:
        how = signals[0].name if signals else "cancelled"
        commands = ran[0] if ran else runner.close()
        print(
            f"interrupted ({how}) during {doing} after {commands} set-up commands; "
            "no further command or step started",
            file=detail,
            flush=True,
        )
        if not signals:
            raise
        interrupted = True
        if task is not None:
            task.uncancel()
    except MusterError:
        say(f"The demo stopped; the processes' logs are in {layout.logs}")
        raise
    finally:
        if world is not None:
            world.save_ledger()
        if not kept:
            processes = len(supervisor.names)
            try:
                await supervisor.stop_all()
            finally:
                supervisor.kill_all_now()
                atexit.unregister(supervisor.kill_all_now)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        detail.close()
    if interrupted:
        word = "interrupted" if signals[0] == signal.SIGINT else "terminated"
        warn(
            f"muster: {word} during {doing}: nothing further was started, and the "
            f"{processes} processes the demo had started are stopped (logs in {layout.logs})"
        )
        return 128 + signals[0]
    left = [pid for pid in layout.recorded_pids() if pid_alive(pid)] if not kept else []
    if left:
        say(f"warning: {len(left)} processes were still running and were killed")
    return 0
