"""Setting the province up and running it: init, enroll, start, stop, wait until ready.

:meth:`Launcher.bring_up` does for every site what an operator does
(:mod:`hub.demo.hubsetup`, :mod:`hub.demo.nodesetup`), each as soon as what it depends on
is ready: every hub is initialised and started at once (a hub runs before it is
enrolled and sees its certificates once ``hub enroll`` installs them); enrollment goes
down the tree, since a parent can answer only once it holds its own chain; a node sends
its requests once its district runs and starts once its answers are installed. Set-up
commands run one at a time (:mod:`hub.demo.commands`); process starts and HTTP waits
overlap.

Each process is ready when it answers: a hub's ``/api/v1/status``, a node's login page,
a card reader's pty link. Passphrases and passwords are random, one file each under
``secrets/``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from hub.config import CONFIG_FILE
from hub.demo.ceremony import Ceremony
from hub.demo.commands import CommandRunner
from hub.demo.errors import DemoCheckError, DemoProcessError
from hub.demo.http import HubAdmin, NodeUi, wait_until_up
from hub.demo.hubsetup import enroll_hub, init_hub
from hub.demo.layout import DemoLayout, free_ports
from hub.demo.nodesetup import add_collectors, enroll_node, init_node
from hub.demo.people import HUB_ADMIN, Person, approver_of, people_of
from hub.demo.processes import Supervisor, muster_command
from hub.demo.together import together
from hub.demo.topology import Province, Site

__all__ = ["START_TIMEOUT", "Launcher"]

#: Seconds a process may take to answer after it starts (imports, key unlock, migrations).
START_TIMEOUT: Final = 120.0


class Launcher:
    """Sets the province up, then starts, stops and reaches its processes."""

    def __init__(
        self,
        province: Province,
        layout: DemoLayout,
        *,
        runner: CommandRunner,
        supervisor: Supervisor,
        say: Callable[[str], None],
        readers: Mapping[str, Path] | None = None,
    ) -> None:
        self.province = province
        self.layout = layout
        self.runner = runner
        self.supervisor = supervisor
        self._say = say
        #: Node id → the cards file of its simulated reader.
        self.readers = dict(readers or {})
        ports = free_ports(len(province.sites))
        self.ports = {site.ident: port for site, port in zip(province.sites, ports, strict=True)}
        self.ceremony = Ceremony(
            layout.ceremony,
            province=province.root.code,
            passphrase_file=self.new_secret(layout.secret_file("passphrase-root")),
            runner=runner,
        )

    # -- naming -------------------------------------------------------------------------

    def url(self, ident: str) -> str:
        return f"http://127.0.0.1:{self.ports[ident]}"

    def passphrase_file(self, ident: str) -> Path:
        return self.layout.secret_file(f"passphrase-{ident}")

    def password_file(self, ident: str, login: str) -> Path:
        return self.layout.secret_file(f"password-{ident}-{login}")

    def password(self, ident: str, login: str) -> str:
        return self.layout.read_secret(f"password-{ident}-{login}")

    def new_secret(self, path: Path) -> Path:
        """The secret file at ``path``, made (random) unless it exists."""
        if not path.exists():
            self.layout.new_secret(path.stem)
        return path

    def approver(self, node_id: str) -> Person:
        return approver_of(node_id)

    def people(self, node_id: str) -> tuple[Person, ...]:
        return people_of(node_id)

    def admin(self, hub: str) -> HubAdmin:
        """A session of the hub's administrator on its admin API (``async with``)."""
        return HubAdmin(self.url(hub), HUB_ADMIN.login, self.password(hub, HUB_ADMIN.login))

    def node_ui(self, node_id: str, login: str) -> NodeUi:
        """A browser of ``login`` on the node's UI (``async with``)."""
        return NodeUi(self.url(node_id), login, self.password(node_id, login))

    async def muster(self, argv: Sequence[str], ident: str) -> str:
        """Run a set-up command for a site (its output in ``logs/setup-<site>.log``)."""
        return await self.runner.run(argv, log_name=f"setup-{ident}")

    # -- the whole province -------------------------------------------------------------

    async def bring_up(self) -> None:
        """Set up and start every site (see the module docstring); the first failure
        cancels the rest."""
        await self.ceremony.create()
        running = {site.ident: asyncio.Event() for site in self.province.hubs}
        enrolled = {site.ident: asyncio.Event() for site in self.province.hubs}
        started = time.monotonic()

        async def hub(site: Site) -> None:
            await init_hub(self, site)
            await self.start_hub(site.ident)
            running[site.ident].set()
            if site.parent is not None:
                await enrolled[site.parent].wait()
            await enroll_hub(self, site)
            enrolled[site.ident].set()
            self._say(f"hub {site.ident} enrolled ({time.monotonic() - started:.1f} s)")

        async def node(site: Site) -> None:
            assert site.parent is not None
            await running[site.parent].wait()
            await init_node(self, site)
            await enrolled[site.parent].wait()
            await enroll_node(self, site)
            if site.ident in self.readers:
                await self.start_reader(site.ident, self.readers[site.ident])
            await self.start_node(site.ident)
            await add_collectors(self, site.ident)
            self._say(f"node {site.ident} running ({time.monotonic() - started:.1f} s)")

        await together(*(hub(s) if s.is_hub else node(s) for s in self.province.sites))

    async def approve_pending(self, hub: str, subject: str) -> str:
        """The hub's administrator approves the pending request of ``subject`` through the
        admin API; return the new certificate's serial.

        Raises:
            DemoCheckError: there is no pending request of that subject.
        """
        async with self.admin(hub) as admin:
            found = await admin.get("/api/v1/admin/enrollments", state="pending")
            ids = [e["id"] for e in found["enrollments"] if e["subject"] == subject]
            if len(ids) != 1:
                raise DemoCheckError(
                    f"enrollment of {subject} at {hub}: expected 1 pending request, got {len(ids)}"
                )
            done = await admin.post(f"/api/v1/admin/enrollments/{ids[0]}/approve")
        return str(done["serial"])

    # -- processes ----------------------------------------------------------------------

    async def _start(self, name: str, argv: Sequence[str], ready_url: str) -> None:
        info = await self.supervisor.start(name, argv)
        await wait_until_up(
            ready_url,
            timeout=START_TIMEOUT,
            alive=lambda: self.supervisor.returncode(name) is None,
            name=name,
            log=info.log,
        )

    async def start_hub(self, ident: str) -> None:
        """``muster hub run``; ready when ``/api/v1/status`` answers."""
        argv = [
            *muster_command(), "hub", "run",
            "--config", str(self.layout.hub_dir(ident) / CONFIG_FILE),
            "--passphrase-file", str(self.passphrase_file(ident)),
        ]  # fmt: skip
        await self._start(f"hub-{ident}", argv, self.url(ident) + "/api/v1/status")

    async def start_node(self, ident: str) -> None:
        """``muster node run``; ready when its login page answers."""
        argv = [
            *muster_command(), "node", "run", "--data", str(self.layout.node_dir(ident)),
            "--passphrase-file", str(self.passphrase_file(ident)),
            "--port", str(self.ports[ident]),
        ]  # fmt: skip
        await self._start(f"node-{ident}", argv, self.url(ident) + "/login")

    async def start_reader(self, node_id: str, cards: Path) -> None:
        """A simulated card reader on a pty for the node, holding ``cards`` in turn."""
        link = self.layout.reader_link(node_id)
        argv = [
            *muster_command(), "collector", "simulate", "--cards", str(cards),
            "--link", str(link), "--dwell", "2", "--gap", "0.3",
        ]  # fmt: skip
        name = f"reader-{node_id}"
        info = await self.supervisor.start(name, argv)
        deadline = time.monotonic() + START_TIMEOUT
        while not link.exists():
            if self.supervisor.returncode(name) is not None:
                raise DemoProcessError(f"{name} exited while starting", log=info.log)
            if time.monotonic() > deadline:
                raise DemoProcessError(f"{name}: no pty after {START_TIMEOUT:.0f} s", log=info.log)
            await asyncio.sleep(0.1)

    async def stop(self, name: str) -> None:
        """Stop one process (SIGTERM to its group).

        Raises:
            DemoProcessError: it ended with an error status.
        """
        code = await self.supervisor.stop(name)
        if code not in (0, None, -15, 143):
            raise DemoProcessError(f"{name} stopped with status {code}", log=self.layout.log(name))
