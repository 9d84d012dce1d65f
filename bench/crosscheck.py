"""Cross-check throughput: import and match a large register against collected records.

Generates a household register of ``--rows`` people (default 1,000,000) of whom
``--records`` (default 200,000) were collected; 2 % of the register's rows have
no ID number (so they go through the fuzzy proposals) and 1 % of the collected
people disagree on their name. Then it measures, in the same run:

- baseline: Python's csv module reading the same file, no processing;
- import: the file into an SQLite dataset file (:func:`import_register`);
- index: the collected records into a :class:`RecordIndex`;
- match: every stored row matched and compared (:func:`check_dataset`);

and then the hub's own path, for each store of ``--store`` (SQLite, PostgreSQL):

- store import: the file into the hub store (``DatasetWriter``: COPY or executemany
  per chunk), in a child process of its own;
- store check: :func:`hub.crosscheck.service.run_check` against the collected records
  written into the hub store's ``records`` table (index from the store, match, findings
  and proposals kept), in a child process of its own.

Prints rows/s for each, the ratio of each import to the baseline, and peak RSS (the
in-process stages: ``resource.getrusage``; each child: its own VmHWM, since Linux
carries ``ru_maxrss`` across exec). Asserts nothing.

    python bench/crosscheck.py [--rows 1000000] [--records 200000] [--store sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from crypto.sign import SigningKey
from hub.config import HubConfig
from hub.context import HubContext
from hub.crosscheck import (
    Finding,
    MatchProposal,
    RecordIndex,
    SourceKind,
    SqliteDatasets,
    check_dataset,
    compared_fields,
    import_register,
    propose_mapping,
)
from hub.crosscheck.service import require_dataset, run_check
from hub.crosscheck.storedatasets import DatasetWriter
from hub.crosscheck.synthetic import (
    REGISTER_HEADERS,
    SyntheticPerson,
    record_values,
    register_cells,
    synthetic_people,
)
from hub.store import Store, migrate
from hub.store.bulk import dumps, write_records
from protocol.trust import TrustAnchor

TOWNS = tuple(f"3701{county:02d}{town:03d}" for county in (2, 3, 4, 5, 12) for town in (1, 2, 3, 4))
SEED = 2026
DATASET = "b" * 32
MAPPING = propose_mapping(REGISTER_HEADERS, source="户籍", source_kind=SourceKind.PUBLIC_SECURITY)


def people(count: int) -> Iterator[SyntheticPerson]:
    return synthetic_people(random.Random(SEED), count, towns=TOWNS)


def write_register(path: Path, rows: int, records: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(REGISTER_HEADERS) + "\n")
        for i, person in enumerate(people(rows)):
            cells = list(register_cells(person, with_id=i % 50 != 7))
            if i < records and i % 100 == 3:
                cells[1] = person.name + "某"
            out.write(",".join(cells) + "\n")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, rows: int, start: float) -> float:
    seconds = time.perf_counter() - start
    print(f"{label:<10} {rows:>10,} rows  {seconds:8.2f} s  {rows / seconds:>10,.0f} rows/s  "
          f"peak RSS {peak_mib():7.1f} MiB")  # fmt: skip
    return rows / seconds


def vmhwm_kib() -> int:
    """This process image's own peak RSS (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _now() -> datetime:
    return datetime.now(UTC)


def store_import_child(register: str, url: str) -> None:
    """Child: import the register into the hub store at ``url``; print rows, seconds, KiB."""
    store = Store(url)
    start = time.perf_counter()
    writer = DatasetWriter(store, source=MAPPING.source, source_kind=MAPPING.source_kind,
                           now=_now)  # fmt: skip
    dataset = import_register(Path(register), MAPPING, writer, dataset_id=DATASET,
                              imported_by="bench", imported_at=_now())  # fmt: skip
    seconds = time.perf_counter() - start
    store.dispose()
    print(json.dumps({"rows": dataset.rows_stored, "seconds": seconds, "kib": vmhwm_kib()}))


def _bench_hub(url: str, work: Path) -> HubContext:
    keys = KeyPair(SigningKey.generate(random.Random(SEED).randbytes), AgeIdentity.generate())
    config = HubConfig(data_dir=work, site="370100", db_url=url, workers=0, jobs=False)
    anchor = TrustAnchor(keys.signing.public_key, "370000")
    return HubContext(config=config, store=Store(url), keys=keys, anchor=anchor, now=_now)


def store_check_child(url: str, work: str) -> None:
    """Child: match the stored dataset against the store's records; print the figures."""
    ctx = _bench_hub(url, Path(work))
    start = time.perf_counter()
    summary = run_check(ctx, DATASET, by="bench")
    seconds = time.perf_counter() - start
    rows = require_dataset(ctx, DATASET).rows_stored
    ctx.store.dispose()
    print(json.dumps({"rows": rows, "seconds": seconds, "kib": vmhwm_kib(),
                      "records": summary.records, "findings": summary.findings,
                      "proposals": summary.proposals}))  # fmt: skip


def write_hub_records(url: str, count: int) -> None:
    """The collected people as the hub's ``records`` rows (values only: matching reads those)."""
    store = Store(url)
    rows = []
    with store.write() as session:
        for person in people(count):
            values = record_values(person)
            values["subject_category"] = list(person.categories)
            rows.append((person.record_id, person.id_number, "live", person.town_code,
                         dumps({"_status": "live", **values}), "{}"))  # fmt: skip
            if len(rows) >= 10_000:
                write_records(session, rows, [])
                rows = []
        write_records(session, rows, [])
    store.dispose()


def _child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=True)  # fmt: skip
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


def _report(label: str, figures: dict[str, float]) -> float:
    rate = figures["rows"] / figures["seconds"]
    print(f"{label:<20} {int(figures['rows']):>10,} rows  {figures['seconds']:8.2f} s  "
          f"{rate:>10,.0f} rows/s  peak RSS {figures['kib'] / 1024:7.1f} MiB (child)")  # fmt: skip
    return rate


def store_path(kind: str, register: Path, records: int, work: Path, baseline: float) -> None:
    """The hub's own path on one store: import and check, each in a child process."""
    # The PostgreSQL helpers of the ingest bench (imported here: the children stay lean).
    from ingest import PG_URL, drop_pg_database, fresh_pg_database  # noqa: PLC0415

    name = ""
    if kind == "sqlite":
        url = f"sqlite:///{work / 'hub.db'}"
    else:
        url, _dsn, name = fresh_pg_database(PG_URL)
    try:
        store = Store(url)
        migrate(store)
        store.dispose()
        imported = _report(f"store import {kind}", _child("--import-child", str(register), url))
        write_hub_records(url, records)
        check = _child("--check-child", url, str(work))
        _report(f"store check {kind}", check)
        print(f"  against {int(check['records']):,} records: {int(check['findings']):,} findings, "
              f"{int(check['proposals']):,} proposals kept; "
              f"store import {kind}/baseline = {imported / baseline:.3f}")  # fmt: skip
    finally:
        if name:
            drop_pg_database(PG_URL, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--store", default="sqlite,postgresql", help="hub stores, or none")
    parser.add_argument("--import-child", nargs=2, metavar=("REGISTER", "URL"))
    parser.add_argument("--check-child", nargs=2, metavar=("URL", "WORK"))
    args = parser.parse_args()
    if args.import_child:
        store_import_child(*args.import_child)
        return
    if args.check_child:
        store_check_child(*args.check_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        register = Path(tmp) / "household.csv"
        start = time.perf_counter()
        write_register(register, args.rows, args.records)
        size = register.stat().st_size / 2**20
        print(
            f"generated {args.rows:,} rows ({size:.0f} MiB) in {time.perf_counter() - start:.1f} s"
        )

        start = time.perf_counter()
        with register.open(encoding="utf-8", newline="") as source:
            count = sum(1 for _row in csv.reader(source)) - 1
        baseline = timed("baseline", count, start)

        mapping = MAPPING
        start = time.perf_counter()
        with SqliteDatasets(Path(tmp) / "datasets.sqlite") as store:
            dataset = import_register(
                register, mapping, store, dataset_id=DATASET, imported_by="bench",
                imported_at=datetime.now(UTC),
            )  # fmt: skip
            imported = timed("import", dataset.rows_stored, start)

            start = time.perf_counter()
            index = RecordIndex.build(
                ((p.record_id, record_values(p)) for p in people(args.records)),
                compared=compared_fields(mapping),
            )
            timed("index", len(index), start)

            start = time.perf_counter()
            findings = proposals = 0
            duplicates = set(store.duplicate_id_numbers(dataset.dataset_id))
            for result in check_dataset(dataset, store.rows(dataset.dataset_id), index,
                                        duplicates=duplicates):  # fmt: skip
                if isinstance(result, Finding):
                    findings += 1
                elif isinstance(result, MatchProposal):
                    proposals += 1
            timed("match", dataset.rows_stored, start)
        print(f"findings {findings:,}, proposals {proposals:,}")
        print(f"import/baseline = {imported / baseline:.3f}")
        for kind in (k for k in args.store.split(",") if k and k != "none"):
            work = Path(tmp) / kind
            work.mkdir()
            store_path(kind, register, args.records, work, baseline)


if __name__ == "__main__":
    main()
