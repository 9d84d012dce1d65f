"""Setting a node up as its site administrator does.

- ``muster node init --parent-url …`` (keys, encrypted store, the site administrator),
  and the card reader's pty in ``node.toml`` when the town has one;
- its approver (``muster node account add``);
- ``muster node enroll --online`` and ``muster node account request --online``: both
  requests wait at the district until its administrator approves them through the admin
  API; the same commands again install the answers (:func:`enroll_node`);
- once the node runs, the site administrator adds the collectors in the node's accounts
  page (:func:`add_collectors`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from hub.demo.errors import DemoCheckError
from hub.demo.people import SITE_ADMIN, approver_of, people_of
from hub.demo.topology import Site
from node.fsutil import write_atomic

if TYPE_CHECKING:
    from hub.demo.launcher import Launcher

__all__ = ["add_collectors", "enroll_node", "init_node"]


def _requests(launcher: Launcher, node_id: str) -> tuple[list[str], list[str]]:
    common = [
        "--data", str(launcher.layout.node_dir(node_id)),
        "--passphrase-file", str(launcher.passphrase_file(node_id)),
    ]  # fmt: skip
    return (
        ["node", "enroll", "--online", *common],
        ["node", "account", "request", approver_of(node_id).login, "--online", *common],
    )


def _attach_reader(data: Path, link: Path) -> None:
    """Name the simulated reader's pty in node.toml (the ``[collector]`` table)."""
    config = data / "node.toml"
    text = config.read_text("utf-8")
    # A JSON string is a valid TOML basic string for a path.
    text += f"\n[collector]\nport_url = {json.dumps(str(link))}\n"
    write_atomic(config, text.encode("utf-8"), mode=0o644)


async def init_node(launcher: Launcher, site: Site) -> None:
    """``node init``, the approver, and both requests: the node's and the approver's."""
    assert site.parent is not None
    node_id, data = site.ident, launcher.layout.node_dir(site.ident)
    passphrase = launcher.new_secret(launcher.passphrase_file(node_id))
    for person in (SITE_ADMIN, *people_of(node_id)):
        launcher.new_secret(launcher.password_file(node_id, person.login))
    site_code, machine = node_id.split("-")
    common = ["--data", str(data), "--passphrase-file", str(passphrase)]
    await launcher.muster(
        [
            "node", "init", "--site", site_code, "--machine", str(int(machine)),
            "--name", site.name, "--root", str(launcher.layout.anchor),
            "--parent-url", launcher.url(site.parent), "--admin", SITE_ADMIN.login,
            "--admin-name", SITE_ADMIN.name,
            "--admin-password-file", str(launcher.password_file(node_id, SITE_ADMIN.login)),
            "--kdf", "interactive", *common,
        ],
        node_id,
    )  # fmt: skip
    if node_id in launcher.readers:
        _attach_reader(data, launcher.layout.reader_link(node_id))
    approver = approver_of(node_id)
    await launcher.muster(
        [
            "node", "account", "add", approver.login, "--name", approver.name,
            "--role", approver.role,
            "--password-file", str(launcher.password_file(node_id, approver.login)), *common,
        ],
        node_id,
    )  # fmt: skip
    for argv in _requests(launcher, node_id):
        await launcher.muster(argv, node_id)


async def enroll_node(launcher: Launcher, site: Site) -> None:
    """The district's administrator approves both requests; the same commands again
    install the answers.

    Raises:
        DemoCheckError: a command did not say the answer was installed.
    """
    assert site.parent is not None
    node_id = site.ident
    for subject in (node_id, f"{site.code}/{approver_of(node_id).login}"):
        await launcher.approve_pending(site.parent, subject)
    enroll, certify = _requests(launcher, node_id)
    for argv, installed in ((enroll, "enrolled"), (certify, "approved")):
        said = await launcher.muster(argv, node_id)
        if installed not in said:
            raise DemoCheckError(f"{node_id}: expected `{' '.join(argv[:3])}` to say {installed}")


async def add_collectors(launcher: Launcher, node_id: str) -> None:
    """The site administrator adds the collectors in the node's UI (accounts page).

    Raises:
        DemoCheckError: the page refused one.
    """
    async with launcher.node_ui(node_id, SITE_ADMIN.login) as ui:
        for person in people_of(node_id):
            if person.role != "collector":
                continue
            password = launcher.password(node_id, person.login)
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
