"""A large register imports in bounded memory: peak RSS does not grow with the row count."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from hub.crosscheck.synthetic import REGISTER_HEADERS, register_cells, synthetic_people

ROOT = Path(__file__).resolve().parents[3]
#: Far above what the import needs (about 50 MiB here), far below holding a million rows.
BOUND_KIB = 200 * 1024


def _write_register(path: Path, rows: int) -> None:
    # A pool of distinct people repeated: the import does the same work for every row.
    people = synthetic_people(random.Random(3), 5_000, towns=("370102001", "370103001"))
    pool = [",".join(register_cells(p)) + "\n" for p in people]
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(REGISTER_HEADERS) + "\n")
        for i in range(0, rows, len(pool)):
            out.writelines(pool[: min(len(pool), rows - i)])


def _peak_rss(tmp_path: Path, rows: int) -> int:
    register = tmp_path / f"register-{rows}.csv"
    _write_register(register, rows)
    done = subprocess.run(
        [sys.executable, "-m", "tests.hub.crosscheck.rss_probe", str(register),
         str(tmp_path / f"datasets-{rows}.sqlite")],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip
    stored, peak = (int(part) for part in done.stdout.split())
    assert stored == rows
    register.unlink()
    return peak


@pytest.mark.slow
def test_peak_memory_is_flat_from_200k_to_1m_rows(tmp_path: Path) -> None:
    small = _peak_rss(tmp_path, 200_000)
    large = _peak_rss(tmp_path, 1_000_000)
    assert large < BOUND_KIB
    assert large <= small * 1.2, f"peak RSS {small} KiB at 200k rows, {large} KiB at 1M"
