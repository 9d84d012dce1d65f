"""Hub ingest: authorised delta bundles through intake → staging → merge, against a
plain bulk upsert of the same rows, on SQLite and on PostgreSQL.

For each database, a district hub (auto-approving clean bundles) takes in bundles of
``--records`` realistic records (create ops sealed as real delta bundles with a real
authorisation) and runs its pipeline until they are merged. The *baseline* writes
the same record rows (``RecordState.to_row`` of every merged record, encoded as
JSON as any writer of a JSON column must) into an empty table of the same shape:
SQLite ``executemany`` of an upsert in one transaction; PostgreSQL ``COPY`` into a
temporary table and ``INSERT … ON CONFLICT``. Both are timed in the same run.
Memory: the peak RSS of a fresh process that ingests one bundle of 10,000 and one
of 100,000 records (``--memory``). Prints figures and ratios; asserts nothing.

    python bench/ingest.py [--records 10000] [--bundles 2] [--db sqlite,postgresql]
                           [--pg-url URL] [--memory]

Ends with ``ingest/baseline sqlite = R`` and ``ingest/baseline postgresql = R``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import sqlalchemy as sa

from crypto.age import AgeIdentity
from hub.config import HubConfig
from hub.context import HubContext
from hub.intake import take_in
from hub.pipeline import run_once
from hub.rawstore import store_file
from hub.store import Store, migrate
from hub.store.models import RecordRow
from hub.trust import install_certificates
from protocol.bundle import BundleKind
from protocol.entries import Manifest, encode_entry
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from protocol.trust import authorise
from tests.pki import NOW, Pki, seal

CATEGORIES = ("retired_soldier", "retired_officer", "martyr_survivor", "disabled_soldier")
TODAY = date(2026, 11, 29)
PG_URL = os.environ.get("MUSTER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/")


def make_bundles(pki: Pki, records: int, bundles: int, seed: int = 1) -> list[bytes]:
    """``bundles`` delta bundles of ``records`` creates each, chained in one stream."""
    rng = random.Random(seed)
    node, approver = pki["node"], pki["approver"]
    wall = int(NOW.timestamp() * 1000) - 86_400_000
    out: list[bytes] = []
    prev = None
    seen: set[object] = set()
    for number in range(1, bundles + 1):
        ops = []
        for i in range(records):
            wall += 1
            values = realistic_record(
                rng,
                category=CATEGORIES[i % len(CATEGORIES)],
                division_code="370102001",
                today=TODAY,
            )
            while values["id_number"] in seen:  # a clean bundle: no duplicate ID numbers
                values = realistic_record(
                    rng,
                    category=CATEGORIES[i % len(CATEGORIES)],
                    division_code="370102001",
                    today=TODAY,
                )
            seen.add(values["id_number"])
            ops.append(
                Op(
                    kind=OpKind.CREATE,
                    record_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    value=values,
                    hlc=Timestamp(wall_ms=wall, counter=0, node=node.subject),
                    author="collector-1",
                    site=node.subject,
                )
            )
        ids = [op.op_id for op in ops]
        batch = f"{number:032x}"
        auth = authorise(
            key=approver.keys.signing,
            by=approver.subject,
            batch_id=batch,
            origin=node.subject,
            op_ids=ids,
            signed_at=NOW,
        )
        manifest = Manifest(batch_id=batch, origin=node.subject, op_ids=tuple(ids))
        entries = [encode_entry(manifest), *(encode_entry(op) for op in ops)]
        data, sealed = seal(
            entries,
            sender=node,
            to=pki["district"],
            kind=BundleKind.DELTA,
            seq=number,
            prev=prev,
            bundle_id=f"{number:032x}",
            auth=auth.to_dict(),
        )
        prev = sealed.bundle_hash
        out.append(data)
    return out


def hub_on(url: str, data: Path, pki: Pki) -> HubContext:
    config = HubConfig(
        data_dir=data,
        site="370102",
        db_url=url,
        cookie_secure=False,
        merge_chunk_ops=int(os.environ.get("MUSTER_BENCH_CHUNK", "2000")),
    )
    store = Store(url)
    migrate(store)
    ctx = HubContext(
        config=config, store=store, keys=pki["district"].keys, anchor=pki.anchor, now=lambda: NOW
    )
    with store.write() as session:
        install_certificates(session, pki.certificates(), source="chain")
    return ctx


def ingest(ctx: HubContext, bundles: list[bytes] | list[Path]) -> float:
    """Take in each bundle (bytes, or a file streamed from disk as an upload would be)
    and run the pipeline until it is merged; return the seconds it took."""
    start = time.perf_counter()
    for data in bundles:
        with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as source:
            stored = store_file(
                source,
                directory=ctx.config.bundles_dir,
                scratch=ctx.config.scratch_dir,
                limit=ctx.config.max_bundle_bytes,
            )
        result = take_in(ctx, stored, source="http")
        if result.status != "accepted":
            raise SystemExit(f"bundle refused: {result.error}")
        while run_once(ctx):
            pass
    return time.perf_counter() - start


def merged_rows(ctx: HubContext) -> list[tuple[Any, ...]]:
    with ctx.store.read() as session:
        return [
            tuple(r)
            for r in session.execute(
                sa.select(
                    RecordRow.record_id,
                    RecordRow.id_number,
                    RecordRow.status,
                    RecordRow.site,
                    RecordRow.data,
                    RecordRow.versions,
                )
            )
        ]


def _encode(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return [(r[0], r[1], r[2], r[3], dumps(r[4]), dumps(r[5])) for r in rows]


BASE_COLUMNS = "record_id text primary key, id_number text, status text, site text"


def baseline_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"CREATE TABLE IF NOT EXISTS base ({BASE_COLUMNS}, data text, versions text)")
    db.execute("CREATE INDEX IF NOT EXISTS base_id ON base (id_number)")
    start = time.perf_counter()
    encoded = _encode(rows)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO base VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (record_id) DO UPDATE SET "
        "id_number = excluded.id_number, status = excluded.status, site = excluded.site, "
        "data = excluded.data, versions = excluded.versions",
        encoded,
    )
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def baseline_postgres(dsn: str, rows: list[tuple[Any, ...]]) -> float:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS base ({BASE_COLUMNS}, data jsonb, versions jsonb)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS base_id ON base (id_number)")
        conn.commit()
        start = time.perf_counter()
        encoded = _encode(rows)
        conn.execute("CREATE TEMP TABLE load (LIKE base) ON COMMIT DROP")
        with conn.cursor().copy("COPY load FROM STDIN") as copy:
            for row in encoded:
                copy.write_row(row)
        conn.execute(
            "INSERT INTO base SELECT * FROM load ON CONFLICT (record_id) DO UPDATE SET "
            "id_number = excluded.id_number, status = excluded.status, site = excluded.site, "
            "data = excluded.data, versions = excluded.versions"
        )
        conn.commit()
        return time.perf_counter() - start


def fresh_pg_database(base: str) -> tuple[str, str, str]:
    """A new database on the bench server: (SQLAlchemy URL, libpq DSN, name)."""
    name = f"muster_bench_{uuid.uuid4().hex[:10]}"
    url = sa.engine.make_url(base)
    admin = f"host={url.host} port={url.port or 5432} user={url.username} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin.replace("dbname=postgres", f"dbname={name}")
    return str(url.set(database=name)), dsn, name


def drop_pg_database(base: str, name: str) -> None:
    url = sa.engine.make_url(base)
    admin = f"host={url.host} port={url.port or 5432} user={url.username} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_db(kind: str, pki: Pki, bundles: list[bytes], records: int, work: Path) -> float:
    data = work / kind
    data.mkdir()
    name = ""
    if kind == "sqlite":
        url, dsn = f"sqlite:///{data / 'hub.db'}", ""
    else:
        url, dsn, name = fresh_pg_database(PG_URL)
    try:
        ctx = hub_on(url, data, pki)
        seconds = ingest(ctx, bundles)
        rows = merged_rows(ctx)
        ctx.store.dispose()
        total = records * len(bundles)
        if len(rows) != total:
            raise SystemExit(f"{kind}: {len(rows)} records merged, expected {total}")
        if kind == "sqlite":
            base = baseline_sqlite(data / "baseline.db", rows)
        else:
            base = baseline_postgres(dsn, rows)
    finally:
        if name:
            drop_pg_database(PG_URL, name)
    ours, plain = total / seconds, total / base
    print(f"{kind:10s} ingest   {ours:9,.0f} records/s  ({seconds:6.2f} s for {total:,})")
    print(f"{kind:10s} baseline {plain:9,.0f} records/s  ({base:6.2f} s)")
    return ours / plain


def bench_pki() -> Pki:
    """The bench's PKI; the hub's age identity is shared with child processes (pyrage
    draws age keys itself, so it travels as text)."""
    text = os.environ.get("MUSTER_BENCH_AGE")
    if text is None:
        text = AgeIdentity.generate().secret_text()
        os.environ["MUSTER_BENCH_AGE"] = text
    return Pki.build(ages={"district": AgeIdentity(text)})


def memory_child(path: str) -> None:
    """In a fresh process: ingest the one bundle at ``path``; print its peak RSS (KiB)."""
    pki = bench_pki()
    work = Path(tempfile.mkdtemp(prefix="muster-bench-mem-"))
    ctx = hub_on(f"sqlite:///{work / 'hub.db'}", work, pki)
    ingest(ctx, [Path(path)])
    with ctx.store.read() as session:
        merged = session.scalar(sa.select(sa.func.count()).select_from(RecordRow))
    if not merged:
        raise SystemExit("memory run: nothing was merged")
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so it would
    # report the parent's size (which holds the generated records), not this process's.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(line.split()[1])


def memory(work: Path) -> None:
    pki = bench_pki()
    peaks = {}
    for records in (10_000, 100_000):
        path = work / f"mem-{records}.bundle"
        path.write_bytes(make_bundles(pki, records, 1, seed=records)[0])
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        peaks[records] = int(out.stdout.strip().splitlines()[-1]) / 1024
        print(f"memory     peak RSS {peaks[records]:7.1f} MiB ingesting {records:,} records")
    print(f"memory     100k/10k peak RSS = {peaks[100_000] / peaks[10_000]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--bundles", type=int, default=2)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-child")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    pki = bench_pki()
    start = time.perf_counter()
    bundles = make_bundles(pki, args.records, args.bundles)
    print(
        f"sealed {args.bundles} bundles of {args.records:,} records in "
        f"{time.perf_counter() - start:.1f} s ({sum(map(len, bundles)) / 1e6:.1f} MB)"
    )
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="muster-bench-") as tmp:
        for kind in (k for k in args.db.split(",") if k and k != "none"):
            ratios[kind] = run_db(kind, pki, bundles, args.records, Path(tmp))
        if args.memory:
            memory(Path(tmp))
    for kind, ratio in ratios.items():
        print(f"ingest/baseline {kind} = {ratio:.2f}")


if __name__ == "__main__":
    main()
