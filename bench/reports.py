"""The hub's report figures: the facts table (hub/reports/storefacts.py) against reading
every record's JSON, on SQLite and on PostgreSQL.

For each database, ``--records`` realistic records are written straight into a hub
store (as the merge writes them), with one op batch per 10,000 so the facts can follow
them. Then, timed in the same run:

- *rebuild*: ``refresh_facts(rebuild=True)``: every record's facts made (records/s);
- *follow*: ``refresh_facts`` after one more op batch of 10,000 new records (records/s),
  what the hourly job or a report pays after a busy hour;
- *tally*: ``StoreSource.tally()`` on the facts (the ``GROUP BY`` a report runs);
- *baseline*: what the facts replace: the live records' JSON streamed through
  ``record_facts`` and ``tally_records`` in Python;
- *json*: the other way without a facts table: one ``GROUP BY`` whose ``SUM(CASE …)``
  reads each required field from the JSON (``json_extract`` / ``->>``).

Prints figures and the ratios baseline/tally and json/tally; asserts nothing.

    python bench/reports.py [--records 100000] [--db sqlite,postgresql] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from hub.config import HubConfig
from hub.context import HubContext
from hub.reports.storefacts import refresh_facts
from hub.reports.storesource import StoreSource
from hub.store import Store, migrate
from hub.store.bulk import dumps, insert_op_batch, write_records
from hub.store.models import BundleRow, RecordRow
from node.reports import Stage, record_facts, tally_records
from protocol.hlc import Timestamp
from protocol.ops import STATUS_LIVE, Op, OpKind
from protocol.sample import realistic_record
from protocol.schema import Schema
from tests.pki import NOW, Pki

TODAY = date(2026, 11, 29)
CATEGORIES = ("retired_soldier", "retired_officer", "martyr_survivor", "disabled_soldier")
TOWNS = tuple(f"3701020{n:02d}" for n in range(1, 13))
PG_URL = os.environ.get("MUSTER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/")
CHUNK = 10_000


def _people(count: int, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    templates = [
        realistic_record(rng, category=CATEGORIES[i % 4], division_code=TOWNS[i % 12], today=TODAY)
        for i in range(400)
    ]
    for n in range(count):
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in templates[n % 400].items()}
        if n % 9 == 0:
            values["phone"] = ""
        yield str(uuid.UUID(int=(seed << 64) + n, version=4)), values


def _write(ctx: HubContext, count: int, seed: int) -> None:
    """``count`` records as merged rows, with their create ops as op batches."""
    with ctx.store.write() as session:
        bundle = BundleRow(
            bundle_hash=uuid.uuid4().hex * 2, size=0, source="file", received_at=NOW,
            state="merged", kind="delta",
        )  # fmt: skip
        session.add(bundle)
        session.flush()
        bundle_id = bundle.id
    wall = int(NOW.timestamp() * 1000)
    people = list(_people(count, seed))
    for start in range(0, count, CHUNK):
        rows, ops = [], []
        for offset, (record_id, values) in enumerate(people[start : start + CHUNK]):
            op = Op(kind=OpKind.CREATE, record_id=record_id, value=values,
                    hlc=Timestamp(wall_ms=wall + start + offset, counter=0, node="370102001-01"),
                    author="bench", site="370102001-01")  # fmt: skip
            ops.append(op.canonical_bytes)
            data = {**values, "_status": STATUS_LIVE}
            rows.append((record_id, None, STATUS_LIVE, "370102001", dumps(data), dumps({})))
        with ctx.store.write() as session:
            write_records(session, rows, [])
            insert_op_batch(session, bundle=bundle_id, source="bundle", chunk=start, canonical=ops)


def _python_tally(ctx: HubContext) -> int:
    schema = ctx.schema

    def facts() -> Iterator[Any]:
        with ctx.store.read() as session:
            query = sa.select(RecordRow.data).where(RecordRow.status == STATUS_LIVE)
            for (data,) in session.execute(query.execution_options(yield_per=5000)):
                yield record_facts(data, schema, stage=Stage.MERGED)

    return len(tally_records(facts()).fields)


def _json_tally(ctx: HubContext) -> int:
    schema = Schema.default()
    fields = sorted({k for c in CATEGORIES for k in schema.applicable((c,)).required_keys})
    sqlite = ctx.store.is_sqlite

    def get(key: str) -> str:
        return f"json_extract(data, '$.{key}')" if sqlite else f"(data->>'{key}')"

    sums = ", ".join(
        f"SUM(CASE WHEN {get(k)} IS NULL OR {get(k)} IN ('', '[]') THEN 1 ELSE 0 END)"
        for k in fields
    )
    region = f"substr(coalesce({get('hukou_division_code')}, {get('collection_point_code')}), 1, 9)"
    query = (
        f"SELECT {region}, {get('subject_category')}, count(*), {sums} FROM records "
        f"WHERE status = 'live' GROUP BY 1, 2"
    )
    with ctx.store.read() as session:
        return len(session.execute(sa.text(query)).all())


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench(url: str, records: int, pki: Pki, data: Path) -> dict[str, float]:
    store = Store(url)
    migrate(store)
    ctx = HubContext(
        config=HubConfig(data_dir=data, site="370102", db_url=url),
        store=store, keys=pki["district"].keys, anchor=pki.anchor, now=lambda: NOW,
    )  # fmt: skip
    try:
        _write(ctx, records, seed=1)
        rebuild = _timed(lambda: refresh_facts(ctx, rebuild=True))
        _write(ctx, CHUNK, seed=2)
        follow = _timed(lambda: refresh_facts(ctx))
        total = records + CHUNK
        tally = _timed(lambda: StoreSource(ctx, today=TODAY, refresh=False).tally())
        baseline = _timed(lambda: _python_tally(ctx))
        json_sql = _timed(lambda: _json_tally(ctx))
    finally:
        store.dispose()
    return {
        "records": total,
        "rebuild_rps": records / rebuild,
        "follow_rps": CHUNK / follow,
        "tally_s": tally,
        "baseline_s": baseline,
        "json_s": json_sql,
    }


def _pg_database(base: str) -> str:
    import psycopg  # noqa: PLC0415 - only for PostgreSQL runs

    name = f"muster_bench_{uuid.uuid4().hex[:8]}"
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn + "postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    pki = Pki.build()
    for db in args.db.split(","):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/hub.db" if db == "sqlite" else _pg_database(args.pg_url)
            got = bench(url, args.records, pki, Path(folder))
        print(
            f"{db}: {got['records']:,.0f} records; facts rebuild {got['rebuild_rps']:,.0f} "
            f"records/s, follow {got['follow_rps']:,.0f} records/s; tally from facts "
            f"{got['tally_s']:.3f} s, every record's JSON in Python {got['baseline_s']:.2f} s, "
            f"JSON in one GROUP BY {got['json_s']:.2f} s"
        )
        print(f"python/facts {db} = {got['baseline_s'] / got['tally_s']:.0f}")
        print(f"json/facts {db} = {got['json_s'] / got['tally_s']:.0f}")


if __name__ == "__main__":
    main()
