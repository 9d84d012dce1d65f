"""A hub whose disk refuses a bundle keeps nothing of it and says so: HTTP 507 to the
sender (who retries later), a one-line "not stored" from ``muster hub import``. A
pipeline step the disk fails is rolled back and tried again a minute later.

The full disk is a real ``RLIMIT_FSIZE`` (the kernel refuses the write with EFBIG,
as it refuses a full disk's with ENOSPC): in a child process for the command line,
and around one request for the HTTP API served in this process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import resource
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.claims import RETRY_SECONDS
from hub.context import HubContext
from hub.faults import FAULT_ENV
from hub.pipeline import run_once
from hub.states import BundleState
from hub.store.models import BundleRow, RecordRow
from tests.hub.datadir import ROOT, hub_command, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import bundle_row, count, drain, submit
from tests.pki import NOW, Pki

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]

#: Smaller than the bundles below, larger than anything else written meanwhile.
LIMIT = 256 * 1024
RECORDS = 1000


def _big_bundle(deltas: DeltaFactory) -> bytes:
    data, _ = deltas.bundle([deltas.create(record_id(i)) for i in range(RECORDS)])
    assert len(data) > LIMIT
    return data


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """This process may not write a file beyond ``limit`` bytes until the block ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.fixture
async def client(hub: HubContext, aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app(dataclasses.replace(hub.config, workers=0), context=hub))


async def test_an_upload_the_disk_refuses_is_507_and_nothing_is_kept(
    client: Client, hub: HubContext, deltas: DeltaFactory
) -> None:
    data = _big_bundle(deltas)
    with _file_size_limit(LIMIT):
        refused = await client.post("/api/v1/bundles", data=data)
        body = await refused.json()
    assert refused.status == 507
    assert body["error"] == "hub_storage"
    assert "could not store the bundle" in body["message"]
    assert "Free disk space" in body["hint"]
    assert _files(hub.config.bundles_dir) == []
    assert _files(hub.config.scratch_dir) == []
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BundleRow)) == 0
    # Space again: the sender's retry is taken in as if nothing had happened.
    again = await client.post("/api/v1/bundles", data=data)
    assert again.status == 200
    assert (await again.json())["status"] == "accepted"


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.RLIM_INFINITY))


@pytest.mark.slow
def test_a_usb_import_onto_a_full_disk_stores_nothing_and_says_so(tmp_path: Path) -> None:
    pki = Pki.build()
    data = tmp_path / "hub"
    make_data_dir(data, pki)
    bundle = tmp_path / "big.bundle"
    bundle.write_bytes(_big_bundle(DeltaFactory(pki)))
    before = _files(data / "bundles")
    full = subprocess.run(
        hub_command("import", str(bundle), data=data),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=_limited,
    )
    assert full.returncode == 1
    assert f"{bundle}: not stored: the hub could not store the bundle" in full.stderr
    assert "Traceback" not in full.stderr
    assert _files(data / "bundles") == before
    assert not any(p.name.startswith("upload-") for p in _files(data))
    taken = run_hub("import", str(bundle), "--process", data=data)
    assert taken.returncode == 0, taken.stderr
    assert f"{bundle}: accepted" in taken.stdout
    assert run_hub("audit", "verify", data=data).returncode == 0


def test_a_merge_the_disk_fails_is_rolled_back_and_tried_again_a_minute_later(
    hub: HubContext, deltas: DeltaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = deltas.bundle([deltas.create(record_id(i)) for i in range(3)])
    taken = submit(hub, data)
    waiting = bundle_row(hub, taken.row_id).state
    monkeypatch.setenv(FAULT_ENV, "stage.chunk_applied:enospc")
    with pytest.raises(OSError, match="No space left on device"):
        run_once(hub)
    row = bundle_row(hub, taken.row_id)
    assert (row.state, row.attempts) == (waiting, 1)
    assert row.lease_until == NOW + timedelta(seconds=RETRY_SECONDS)
    assert count(hub, RecordRow) == 0
    monkeypatch.delenv(FAULT_ENV)
    assert drain(hub) == 0  # not before the minute is up
    later = dataclasses.replace(hub, now=lambda: NOW + timedelta(seconds=RETRY_SECONDS + 1))
    drain(later)
    assert bundle_row(hub, taken.row_id).state == BundleState.MERGED
    assert count(hub, RecordRow) == 3
