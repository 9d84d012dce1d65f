"""Federation upward: packaging merged ops at a district and taking the package in at
its city, against the district's own ingest of the same ops as delta bundles.

A district hub (SQLite) takes in ``--records`` new realistic records as delta bundles of
``--per-bundle`` records, sealed beforehand, and merges them (the *baseline*: delta
intake and merge at the district, timed); it then
packages them for its city (``build_packages``: the op log read back, manifests,
certificates, sealing; timed), and the city takes the package in, checks the provenance
of every op and merges it (timed). Prints ops per second and each ratio to the baseline
measured in the same run. With ``--memory``, a fresh process does the same for 10,000
and for 40,000 records and reports the peak RSS of the city's package intake alone
(the peak is reset before it): flat memory means about the same for both.

    python bench/packages.py [--records 10000] [--per-bundle 5000] [--memory]

Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.upward.building import build_packages
from tests.hub.factory import record_id
from tests.hub.federation.uptree import UpTree, up_pki
from tests.hub.helpers import drain, submit


def _tree(root: Path) -> UpTree:
    tree = UpTree(pki=up_pki(), root=root)
    tree.add_hub("province")
    tree.add_hub("city", auto_approve_levels=("county",))
    tree.add_hub("district", package_max_ops=1_000_000, package_max_bytes=1024 << 20)
    return tree


def _deltas(tree: UpTree, records: int, per_bundle: int) -> list[bytes]:
    """The town's delta bundles of ``records`` new people, sealed now (not timed)."""
    factory = tree.deltas("town")
    bundles = []
    for first in range(0, records, per_bundle):
        count = min(per_bundle, records - first)
        ops = [
            factory.create(record_id(first + i, salt="bench"), tree.person(factory, "370102001"))
            for i in range(count)
        ]
        bundles.append(factory.bundle(ops, to=tree.pki["district"])[0])
    return bundles


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run(records: int, per_bundle: int, *, memory_only: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-packages-") as scratch:
        tree = _tree(Path(scratch))
        try:
            bundles = _deltas(tree, records, per_bundle)
            district = tree["district"]
            started = time.perf_counter()
            for bundle in bundles:
                assert submit(district, bundle).status == "accepted"
            drain(district)
            ingest = time.perf_counter() - started
            assert len(tree.records("district")) == records
            started = time.perf_counter()
            packages = build_packages(tree["district"])
            build = time.perf_counter() - started
            if memory_only:
                Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS
            started = time.perf_counter()
            results = tree.deliver("district")
            intake = time.perf_counter() - started
            assert [r.status for r in results] == ["accepted"] * len(packages)
            assert len(tree.records("city")) == records
        finally:
            tree.close()
    return {"ingest": ingest, "build": build, "intake": intake, "peak_kib": _peak_kib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--per-bundle", type=int, default=5_000)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = run(args.records, args.per_bundle, memory_only=True)
        print(int(figures["peak_kib"]))
        return
    figures = run(args.records, args.per_bundle)
    n = args.records
    baseline = n / figures["ingest"]
    print(f"records: {n} (delta bundles of {args.per_bundle}), SQLite")
    print(f"baseline: delta ingest at the district   {baseline:10.0f} ops/s")
    for name, label in (
        ("build", "packaging at the district"),
        ("intake", "package intake at the city"),
    ):
        rate = n / figures[name]
        print(f"{label:40s} {rate:10.0f} ops/s   {name}/baseline = {rate / baseline:.2f}")
    if args.memory:
        peaks = {}
        for size in (10_000, 40_000):
            done = subprocess.run(
                [sys.executable, __file__, "--child", "--records", str(size),
                 "--per-bundle", str(args.per_bundle)],
                capture_output=True, text=True, check=True, env={**os.environ},
            )  # fmt: skip
            peaks[size] = int(done.stdout.strip().splitlines()[-1])
            print(f"peak RSS of the package intake, {size} ops: {peaks[size] / 1024:.0f} MiB")
        print(f"peak 40k / peak 10k = {peaks[40_000] / peaks[10_000]:.2f}")


if __name__ == "__main__":
    main()
