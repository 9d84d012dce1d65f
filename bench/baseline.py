"""Baseline import and the hop below it, against reading the same file alone.

A province hub (SQLite) imports a CSV of ``--records`` realistic people registered in
``--towns`` towns of one district: rows → create ops → one authorised batch per town →
applied at the province → one ``baseline`` bundle sealed for the city. The city hub then
takes that bundle (verify, decrypt, apply, re-seal per district). The *baseline* of the
comparison reads the same file through the same reader and mapping into a sink that
keeps nothing — the floor any import pays. Prints figures and ratios; asserts nothing.

    python bench/baseline.py [--records 20000] [--towns 20]

Ends with ``import/read = R`` and ``hop/import = R``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from hub.baseline import BaselineAdmin, import_baseline
from hub.crosscheck import SourceKind, import_register
from hub.crosscheck.dataset import Dataset, RegisterRow
from hub.crosscheck.mapping import propose_mapping
from hub.crosscheck.problems import RowProblem
from hub.crosscheck.reading import read_headers
from hub.fromparent import accept_from_parent
from hub.rawstore import bundle_path
from hub.store.models import DownBundle
from tests.hub.conftest import make_hub
from tests.hub.federation.downtree import PROVINCE_ADMIN, baseline_rows, tree_pki, write_csv
from tests.pki import NOW


class _Nothing:
    """A dataset sink that keeps nothing (the reading floor)."""

    def begin(self, dataset_id: str) -> None:
        return None

    def add_rows(
        self, dataset_id: str, rows: Sequence[RegisterRow], problems: Sequence[RowProblem]
    ) -> None:
        return None

    def commit(self, dataset: Dataset) -> None:
        return None

    def abort(self, dataset_id: str) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--towns", type=int, default=20)
    args = parser.parse_args()
    pki = tree_pki()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        towns = [f"370102{n:03d}" for n in range(1, args.towns + 1)]
        per_town = max(1, args.records // len(towns))
        path = write_csv(root / "baseline.csv", baseline_rows([(t, per_town) for t in towns]))
        size = path.stat().st_size
        count = per_town * len(towns)

        start = time.perf_counter()
        mapping = propose_mapping(read_headers(path), source="s", source_kind=SourceKind.OTHER)
        import_register(
            path,
            mapping,
            _Nothing(),
            dataset_id=secrets.token_hex(16),
            imported_by="bench",
            imported_at=NOW,
        )
        read = time.perf_counter() - start

        province = make_hub(
            root / "p", f"sqlite:///{root / 'p.db'}", pki, site="370000", party="province"
        )
        admin = BaselineAdmin(subject=PROVINCE_ADMIN, key=pki["province_admin"].keys.signing)
        start = time.perf_counter()
        report = import_baseline(province, path, admin=admin, source="bench")
        imported = time.perf_counter() - start
        with province.store.read() as session:
            digest = session.scalar(sa.select(DownBundle.bundle_hash).limit(1))
        assert digest is not None
        bundle = bundle_path(province.config.down_dir, digest).read_bytes()

        city = make_hub(root / "c", f"sqlite:///{root / 'c.db'}", pki, site="370100", party="city")
        start = time.perf_counter()
        accept_from_parent(city, bundle, source="file")
        hop = time.perf_counter() - start

    print(f"file: {count} records, {size / 1e6:.1f} MB CSV, {args.towns} towns")
    print(f"read only (reader + mapping, nothing kept): {read:.2f} s, {count / read:,.0f} rec/s")
    print(
        f"import at the province (validate, ops, authorise, apply, seal): {imported:.2f} s, "
        f"{report.records / imported:,.0f} rec/s; bundle {len(bundle) / 1e6:.1f} MB"
    )
    print(
        f"one hop at the city (verify, decrypt, apply, re-seal): {hop:.2f} s, "
        f"{count / hop:,.0f} rec/s"
    )
    print(f"import/read = {imported / read:.2f}")
    print(f"hop/import = {hop / imported:.2f}")


if __name__ == "__main__":
    main()
