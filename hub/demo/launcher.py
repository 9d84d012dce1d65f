"""Setting the province up and running it: init, enroll, start, stop, wait until ready.

For each site, parents first (:meth:`Province.in_setup_order`; the sites of one wave in
parallel), the launcher does what an operator does:

- a hub: ``muster hub init`` (keys, store, enrollment request), its port and loopback
  settings in ``hub.toml``, ``muster hub account add`` (the administrator), enrollment
  with the parent — the request is sent to the parent's ``/api/v1/enrollments``, the
  parent's administrator approves it through the admin API, the answer is fetched and
  installed with ``muster hub enroll`` (the province hub's request is certified by the
  root in the key ceremony instead) — then ``muster hub run``, ready when
  ``/api/v1/status`` answers;
- a node: ``muster node init`` (with the district's URL), ``muster node enroll
  --online`` (pending until the district's administrator approves it through the admin
  API, then again to install the answer), its collectors and approver (``muster node
  account add``, ``account request --online`` for the approver's certificate, approved
  the same way), a card-reader simulator on a pty (``muster collector simulate``), then
  ``muster node run``, ready when its login page answers.

Passphrases and passwords are random, one file each under ``secrets/``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from crypto.errors import MusterError
from hub.config import CONFIG_FILE, HubConfig
from hub.demo.ceremony import Ceremony
from hub.demo.commands import CommandRunner
from hub.demo.errors import DemoCheckError, DemoProcessError
from hub.demo.http import HubAdmin, NodeUi, get_json, post_json, wait_until_up
from hub.demo.layout import DemoLayout, free_ports
from hub.demo.processes import Supervisor, muster_command
from hub.demo.topology import Province, Site
from node.fsutil import write_atomic

__all__ = ["HUB_ADMIN", "NODE_PEOPLE", "Launcher", "Person", "together"]

#: Seconds a process may take to answer after it starts (imports, key unlock, migrations).
START_TIMEOUT: Final = 120.0
#: How often a hub's pipeline looks for work: snappier than the default second.
POLL_SECONDS: Final = 0.2
#: How often a hub packages for its parent and syncs with it (the defaults are minutes).
JOB_SECONDS: Final = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A demo login: who, with which role, and their display name."""

    login: str
    name: str
    role: str


#: The administrator account of every hub.
HUB_ADMIN: Final = Person(login="admin", name="系统管理员", role="admin")
#: The accounts of every node (besides its site administrator ``admin``).
NODE_PEOPLE: Final = (
    Person(login="zhang.wei", name="张伟", role="collector"),
    Person(login="liu.yang", name="刘洋", role="collector"),
    Person(login="li.na", name="李娜", role="approver"),
)


def _approver(node_id: str) -> Person:
    """The approver of a node: one person per machine (their certificate names the site)."""
    base = next(p for p in NODE_PEOPLE if p.role == "approver")
    machine = node_id.rsplit("-", 1)[1]
    return base if machine == "01" else dataclasses.replace(base, login=f"{base.login}{machine}")


def _first_failure(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first failure of a task group, a Muster error if there is one (one line, no trace)."""
    leaves: list[Exception] = []
    pending: list[BaseException] = [group]
    while pending:
        item = pending.pop(0)
        if isinstance(item, BaseExceptionGroup):
            pending.extend(item.exceptions)
        elif isinstance(item, Exception):
            leaves.append(item)
    return next((e for e in leaves if isinstance(e, MusterError)), leaves[0])


async def together(*work: Coroutine[Any, Any, object]) -> None:
    """Run ``work`` at once; the first failure cancels the rest and is raised alone.

    Raises:
        Exception: the first failure (a Muster error if any failed so).
    """
    try:
        async with asyncio.TaskGroup() as group:
            for item in work:
                group.create_task(item)
    except ExceptionGroup as failed:
        raise _first_failure(failed) from None


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
        self._secret("passphrase-root")
        self.ceremony = Ceremony(
            layout.ceremony,
            province=province.root.code,
            passphrase_file=layout.secret_file("passphrase-root"),
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

    def _secret(self, name: str) -> bytes:
        path = self.layout.secret_file(name)
        if not path.exists():
            self.layout.new_secret(name)
        return self.layout.read_secret(name).encode()

    def approver(self, node_id: str) -> Person:
        return _approver(node_id)

    def people(self, node_id: str) -> tuple[Person, ...]:
        return tuple(p if p.role != "approver" else _approver(node_id) for p in NODE_PEOPLE)

    def admin(self, hub: str) -> HubAdmin:
        """A session of the hub's administrator on its admin API (``async with``)."""
        return HubAdmin(self.url(hub), HUB_ADMIN.login, self.password(hub, HUB_ADMIN.login))

    def node_ui(self, node_id: str, login: str) -> NodeUi:
        """A browser of ``login`` on the node's UI (``async with``)."""
        return NodeUi(self.url(node_id), login, self.password(node_id, login))

    async def _muster(self, argv: Sequence[str], ident: str, *, ok: Sequence[int] = (0,)) -> str:
        return await self.runner.run(argv, log_name=f"setup-{ident}", ok=ok)

    # -- the whole province -------------------------------------------------------------

    async def bring_up(self) -> None:
        """Set up and start every site; the first failure cancels the rest.

        Nothing waits that need not: every hub is initialised and started at once
        (a hub runs before it is enrolled, and sees its certificates once ``hub enroll``
        installs them); enrollment then goes down the tree, since a parent can answer
        only once it holds its own chain. Nodes send their requests as soon as their
        district runs and start once their answers are installed. Set-up commands run
        one at a time (see :mod:`hub.demo.commands`); process starts and HTTP waits overlap.
        """
        await self.ceremony.create()
        running = {site.ident: asyncio.Event() for site in self.province.hubs}
        enrolled = {site.ident: asyncio.Event() for site in self.province.hubs}
        started = time.monotonic()

        async def hub(site: Site) -> None:
            await self.init_hub(site)
            await self.start_hub(site.ident)
            running[site.ident].set()
            if site.parent is not None:
                await enrolled[site.parent].wait()
            await self.enroll_hub(site)
            enrolled[site.ident].set()
            self._say(f"hub {site.ident} enrolled ({time.monotonic() - started:.1f} s)")

        async def node(site: Site) -> None:
            assert site.parent is not None
            await running[site.parent].wait()
            await self.init_node(site)
            await enrolled[site.parent].wait()
            await self.enroll_node(site)
            if site.ident in self.readers:
                await self.start_reader(site.ident, self.readers[site.ident])
            await self.start_node(site.ident)
            await self.add_collectors(site.ident)
            self._say(f"node {site.ident} running ({time.monotonic() - started:.1f} s)")

        await together(*(hub(s) if s.is_hub else node(s) for s in self.province.sites))

    # -- hubs ---------------------------------------------------------------------------

    async def init_hub(self, site: Site) -> None:
        """``hub init``, its port and loopback settings, the administrator's account."""
        data = self.layout.hub_dir(site.ident)
        passphrase = self.passphrase_file(site.ident)
        self._secret(passphrase.stem)
        self._secret(self.password_file(site.ident, HUB_ADMIN.login).stem)
        await self._muster(
            [
                "hub", "init", "--site", site.ident, "--name", site.name, "--data", str(data),
                "--root", str(self.layout.anchor), "--passphrase-file", str(passphrase),
                "--kdf", "interactive",
            ],
            site.ident,
        )  # fmt: skip
        self._configure_hub(site)
        await self._muster(
            [
                "hub", "account", "add", "--data", str(data), "--passphrase-file", str(passphrase),
                "--login", HUB_ADMIN.login, "--name", HUB_ADMIN.name, "--role", HUB_ADMIN.role,
                "--password-file", str(self.password_file(site.ident, HUB_ADMIN.login)),
            ],
            site.ident,
        )  # fmt: skip

    async def enroll_hub(self, site: Site) -> None:
        """Enrollment with the parent (the root for the province hub), then ``hub enroll``."""
        data = self.layout.hub_dir(site.ident)
        passphrase = self.passphrase_file(site.ident)
        answer = data / "enrollment-answer.json"
        request = data / "enrollment-request.json"
        if site.parent is None:
            await self.ceremony.certify(request, answer)
        else:
            await self._enroll_with_parent(site, request, answer)
        await self._muster(
            [
                "hub",
                "enroll",
                str(answer),
                "--data",
                str(data),
                "--passphrase-file",
                str(passphrase),
            ],
            site.ident,
        )

    def _configure_hub(self, site: Site) -> None:
        """Loopback settings, the parent's address, and jobs every few seconds.

        Packages for the parent are authorised by the hub's own administrator key at
        every level (the default for a district; a city's default is an administrator
        with a personal key, which the demo does not make).
        """
        data = self.layout.hub_dir(site.ident)
        # The environment is left out on purpose: the demo's own MUSTER_HUB_… settings
        # must not end up in every hub's file.
        config = HubConfig.load(data, environ={})
        config = dataclasses.replace(
            config,
            listen_port=self.ports[site.ident],
            cookie_secure=False,
            poll_seconds=POLL_SECONDS,
            parent_url=self.url(site.parent) if site.parent else "",
            package_authorisation="auto",
            package_interval_seconds=JOB_SECONDS,
            sync_interval_seconds=JOB_SECONDS,
        )
        write_atomic(data / CONFIG_FILE, config.to_toml().encode("utf-8"), mode=0o644)

    async def _enroll_with_parent(self, site: Site, request: Path, answer: Path) -> None:
        """Send the request to the parent, have its administrator approve it, keep the answer."""
        assert site.parent is not None
        parent = self.url(site.parent)
        sent = await post_json(parent + "/api/v1/enrollments", request.read_bytes())
        ident = str(sent["id"])
        await self.approve_enrollment(site.parent, ident)
        state = await get_json(f"{parent}/api/v1/enrollments/{ident}")
        if state.get("status") != "approved":
            raise DemoCheckError(
                f"enrollment of {site.ident} at {site.parent}: expected approved, "
                f"got {state.get('status')}"
            )
        write_atomic(answer, json.dumps(state["answer"]).encode("utf-8"), mode=0o644)

    async def approve_enrollment(self, hub: str, ident: str) -> str:
        """The hub's administrator approves a pending request; return the new serial."""
        async with self.admin(hub) as admin:
            done = await admin.post(f"/api/v1/admin/enrollments/{ident}/approve")
        return str(done["serial"])

    async def approve_pending(self, hub: str, subject: str) -> str:
        """Approve the pending request of ``subject`` at ``hub``; return the serial.

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

    async def start_hub(self, ident: str) -> None:
        data = self.layout.hub_dir(ident)
        argv = [
            *muster_command(), "hub", "run", "--config", str(data / CONFIG_FILE),
            "--passphrase-file", str(self.passphrase_file(ident)),
        ]  # fmt: skip
        await self._start(f"hub-{ident}", argv, self.url(ident) + "/api/v1/status")

    async def _start(self, name: str, argv: Sequence[str], ready_url: str) -> None:
        info = await self.supervisor.start(name, argv)
        await wait_until_up(
            ready_url,
            timeout=START_TIMEOUT,
            alive=lambda: self.supervisor.returncode(name) is None,
            name=name,
            log=info.log,
        )

    async def stop(self, name: str) -> None:
        code = await self.supervisor.stop(name)
        if code not in (0, None, -15, 143):
            raise DemoProcessError(f"{name} stopped with status {code}", log=self.layout.log(name))

    # -- nodes --------------------------------------------------------------------------

    async def init_node(self, site: Site) -> None:
        """``node init``, the approver, and both requests: the node's and the approver's."""
        assert site.parent is not None
        node_id, data = site.ident, self.layout.node_dir(site.ident)
        passphrase = self.passphrase_file(node_id)
        self._secret(passphrase.stem)
        for person in ("admin", *(p.login for p in self.people(node_id))):
            self._secret(self.password_file(node_id, person).stem)
        site_code, machine = node_id.split("-")
        common = ["--data", str(data), "--passphrase-file", str(passphrase)]
        await self._muster(
            [
                "node", "init", "--site", site_code, "--machine", str(int(machine)),
                "--name", site.name, "--root", str(self.layout.anchor),
                "--parent-url", self.url(site.parent), "--admin", "admin",
                "--admin-password-file", str(self.password_file(node_id, "admin")),
                "--kdf", "interactive", *common,
            ],
            node_id,
        )  # fmt: skip
        if node_id in self.readers:
            self._attach_reader(data, self.layout.reader_link(node_id))
        approver = self.approver(node_id)
        await self._muster(
            [
                "node", "account", "add", approver.login, "--name", approver.name,
                "--role", approver.role,
                "--password-file", str(self.password_file(node_id, approver.login)), *common,
            ],
            node_id,
        )  # fmt: skip
        enroll, certify = self._requests(node_id)
        # Both requests wait at the district for its administrator.
        for argv in (enroll, certify):
            await self._muster(argv, node_id)

    def _requests(self, node_id: str) -> tuple[list[str], list[str]]:
        common = [
            "--data", str(self.layout.node_dir(node_id)),
            "--passphrase-file", str(self.passphrase_file(node_id)),
        ]  # fmt: skip
        return (
            ["node", "enroll", "--online", *common],
            ["node", "account", "request", self.approver(node_id).login, "--online", *common],
        )

    async def enroll_node(self, site: Site) -> None:
        """The district's administrator approves both requests; the same commands again
        install the answers."""
        assert site.parent is not None
        node_id = site.ident
        site_code = site.code
        approver = self.approver(node_id)
        enroll, certify = self._requests(node_id)
        for subject in (node_id, f"{site_code}/{approver.login}"):
            await self.approve_pending(site.parent, subject)
        for argv, done in ((enroll, "enrolled"), (certify, "approved")):
            said = await self._muster(argv, node_id)
            if done not in said:
                raise DemoCheckError(f"{node_id}: expected `{' '.join(argv[:3])}` to say {done}")

    async def add_collectors(self, node_id: str) -> None:
        """The site administrator adds the collectors in the node's UI (accounts page)."""
        async with self.node_ui(node_id, "admin") as ui:
            for person in self.people(node_id):
                if person.role != "collector":
                    continue
                password = self.password(node_id, person.login)
                answer = await ui.submit(
                    "/admin/accounts",
                    [
                        ("login", person.login),
                        ("display_name", person.name),
                        ("role", person.role),
                        ("password", password),
                        ("password_again", password),
                    ],
                )
                if not answer.redirected:
                    raise DemoCheckError(
                        f"{node_id}: adding {person.login} answered HTTP {answer.status}"
                    )

    @staticmethod
    def _attach_reader(data: Path, link: Path) -> None:
        """Name the simulated reader's pty in node.toml (the ``[collector]`` table)."""
        config = data / "node.toml"
        text = config.read_text("utf-8")
        # A JSON string is a valid TOML basic string for a path.
        text += f"\n[collector]\nport_url = {json.dumps(str(link))}\n"
        write_atomic(config, text.encode("utf-8"), mode=0o644)

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

    async def start_node(self, ident: str) -> None:
        argv = [
            *muster_command(), "node", "run", "--data", str(self.layout.node_dir(ident)),
            "--passphrase-file", str(self.passphrase_file(ident)),
            "--port", str(self.ports[ident]),
        ]  # fmt: skip
        await self._start(f"node-{ident}", argv, self.url(ident) + "/login")
