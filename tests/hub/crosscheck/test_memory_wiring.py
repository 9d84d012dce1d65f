"""A million-row register imports into the hub's own store (SQLite and PostgreSQL) in bounded
memory: the import process's peak RSS does not grow with the number of rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.store import Store, migrate
from hub.store.crosscheck_models import RegisterRowRow
from tests.hub.crosscheck.test_memory import BOUND_KIB, ROOT, _write_register

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def _peak(tmp_path: Path, url: str, rows: int) -> int:
    register = tmp_path / f"register-{rows}.csv"
    _write_register(register, rows)
    done = subprocess.run(
        [sys.executable, "-m", "tests.hub.crosscheck.store_rss_probe", str(register), url],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=3600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    stored, peak = (int(part) for part in done.stdout.split())
    assert stored == rows
    register.unlink()
    return peak


def _emptied(url: str) -> None:
    store = Store(url)
    try:
        with store.write() as session:
            session.execute(sa.delete(RegisterRowRow))
            session.execute(sa.text("DELETE FROM crosscheck_datasets"))
    finally:
        store.dispose()


def test_a_million_rows_import_into_the_store_in_flat_memory(
    tmp_path: Path, store_url: str
) -> None:
    store = Store(store_url)
    migrate(store)
    store.dispose()
    small = _peak(tmp_path, store_url, 200_000)
    _emptied(store_url)  # the same dataset id again: the store must be empty
    large = _peak(tmp_path, store_url, 1_000_000)
    assert large < BOUND_KIB
    assert large <= small * 1.2, f"peak RSS {small} KiB at 200k rows, {large} KiB at 1M"
