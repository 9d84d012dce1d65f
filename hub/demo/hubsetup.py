"""Setting a hub up as its operator does: init, settings, administrator, enrollment.

- ``muster hub init --kdf interactive`` (keys, store, enrollment request);
- ``hub.toml``: its port, loopback settings, its parent's address, and scheduled jobs
  every few seconds (:func:`configure_hub`);
- ``muster hub account add``: the administrator;
- enrollment: the request is posted to the parent's ``/api/v1/enrollments``, the
  parent's administrator approves it through the admin API, the answer is fetched and
  installed with ``muster hub enroll`` (the province hub's request is certified by the
  root in the key ceremony instead).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.config import CONFIG_FILE, HubConfig
from hub.demo.errors import DemoCheckError
from hub.demo.http import get_json, post_json
from hub.demo.people import HUB_ADMIN
from hub.demo.topology import Site
from node.fsutil import write_atomic

if TYPE_CHECKING:
    from hub.demo.launcher import Launcher

__all__ = ["JOB_SECONDS", "POLL_SECONDS", "configure_hub", "enroll_hub", "init_hub"]

#: How often a hub's pipeline looks for work: snappier than the default second.
POLL_SECONDS: Final = 0.2
#: How often a hub packages for its parent and syncs with it (the defaults are minutes).
JOB_SECONDS: Final = 2


async def init_hub(launcher: Launcher, site: Site) -> None:
    """``hub init``, its settings, the administrator's account."""
    data = launcher.layout.hub_dir(site.ident)
    passphrase = launcher.new_secret(launcher.passphrase_file(site.ident))
    password = launcher.new_secret(launcher.password_file(site.ident, HUB_ADMIN.login))
    await launcher.muster(
        [
            "hub", "init", "--site", site.ident, "--name", site.name, "--data", str(data),
            "--root", str(launcher.layout.anchor), "--passphrase-file", str(passphrase),
            "--kdf", "interactive",
        ],
        site.ident,
    )  # fmt: skip
    configure_hub(launcher, site)
    await launcher.muster(
        [
            "hub", "account", "add", "--data", str(data), "--passphrase-file", str(passphrase),
            "--login", HUB_ADMIN.login, "--name", HUB_ADMIN.name, "--role", HUB_ADMIN.role,
            "--password-file", str(password),
        ],
        site.ident,
    )  # fmt: skip


def configure_hub(launcher: Launcher, site: Site) -> None:
    """Loopback settings, the parent's address, and jobs every few seconds.

    Packages for the parent are authorised by the hub's own administrator key at every
    level (the default for a district; a city's default is an administrator with a
    personal key, which the demo does not make).
    """
    data = launcher.layout.hub_dir(site.ident)
    # The environment is left out on purpose: the demo's own MUSTER_HUB_… settings must
    # not end up in every hub's file.
    config = HubConfig.load(data, environ={})
    config = dataclasses.replace(
        config,
        listen_port=launcher.ports[site.ident],
        cookie_secure=False,
        poll_seconds=POLL_SECONDS,
        parent_url=launcher.url(site.parent) if site.parent else "",
        package_authorisation="auto",
        package_interval_seconds=JOB_SECONDS,
        sync_interval_seconds=JOB_SECONDS,
    )
    write_atomic(data / CONFIG_FILE, config.to_toml().encode("utf-8"), mode=0o644)


async def enroll_hub(launcher: Launcher, site: Site) -> None:
    """Enrollment with the parent (the root for the province hub), then ``hub enroll``."""
    data = launcher.layout.hub_dir(site.ident)
    answer = data / "enrollment-answer.json"
    request = data / "enrollment-request.json"
    if site.parent is None:
        await launcher.ceremony.certify(request, answer)
    else:
        await _enroll_with_parent(launcher, site, request, answer)
    passphrase = launcher.passphrase_file(site.ident)
    await launcher.muster(
        ["hub", "enroll", str(answer), "--data", str(data), "--passphrase-file", str(passphrase)],
        site.ident,
    )


async def _enroll_with_parent(launcher: Launcher, site: Site, request: Path, answer: Path) -> None:
    """Send the request to the parent, have its administrator approve it, keep the answer."""
    assert site.parent is not None
    parent = launcher.url(site.parent)
    sent = await post_json(parent + "/api/v1/enrollments", request.read_bytes())
    ident = str(sent["id"])
    async with launcher.admin(site.parent) as admin:
        await admin.post(f"/api/v1/admin/enrollments/{ident}/approve")
    state = await get_json(f"{parent}/api/v1/enrollments/{ident}")
    if state.get("status") != "approved":
        raise DemoCheckError(
            f"enrollment of {site.ident} at {site.parent}: expected approved, "
            f"got {state.get('status')}"
        )
    write_atomic(answer, json.dumps(state["answer"]).encode("utf-8"), mode=0o644)
