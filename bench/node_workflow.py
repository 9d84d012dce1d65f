"""The node's day: saving forms, authorising, applying a baseline, against the pure cores.

Each step is measured twice in the same run, interleaved:

- *node*: through ``NodeServices`` on a real encrypted store (SQLCipher, WAL, one
  transaction per call, as the UI calls it);
- *core*: the same work in memory with the pure cores only (coerce + validate + op +
  merge; authorise + seal; open + decode + merge), no store.

The ratio node/core is what the store, the transactions and the bookkeeping cost. The
approver's Argon2id unlock (INTERACTIVE) is timed on its own, since it is paid once per
authorisation whatever the batch size. Prints figures and ratios; asserts nothing.

    python bench/node_workflow.py [--records 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.keys import KeyPair
from crypto.keystore import KDF_INTERACTIVE, open_keystore, seal_keystore
from node.services import NodeServices
from protocol.bundle import BundleKind, StaticTrust, open_bundle, seal_bundle
from protocol.divisions import Divisions
from protocol.entries import decode_entry, encode_entry
from protocol.hlc import HybridClock
from protocol.merge import apply_ops
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from protocol.schema import Schema, coerce_value
from protocol.trust import authorise
from protocol.validation import validate_record
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    Clock,
    down_bundle,
    hub_create,
    ready_node,
)
from tests.pki import Pki

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
Form = tuple[tuple[str, ...], dict[str, Any]]


def forms(services: NodeServices, count: int, seed: int) -> list[Form]:
    """Realistic forms whose photos are stored blobs (the same blob for all: one photo)."""
    rng = random.Random(seed)
    photo = services.store_blob(b"\x89PNG\r\n\x1a\n" + bytes(2000), "image/png").blob_id
    made = []
    for _ in range(count):
        record = realistic_record(
            rng, category="retired_soldier", division_code="370102001", today=TODAY
        )
        values: dict[str, Any] = {}
        for key, value in record.items():
            if key == "subject_category":
                continue
            if isinstance(value, tuple):
                values[key] = [photo if str(v).startswith("b2:") else v for v in value]
            elif isinstance(value, str) and value.startswith("b2:"):
                values[key] = photo
            else:
                values[key] = value
        made.append((tuple(record["subject_category"]), values))  # type: ignore[arg-type]
    return made


def core_save(schema: Schema, divisions: Divisions, batch: list[Form]) -> None:
    clock = HybridClock("370102001-01", lambda: int(NOW.timestamp() * 1000))
    ops = []
    for categories, values in batch:
        record: dict[str, Any] = {"subject_category": categories}
        for key, raw in values.items():
            value = coerce_value(schema.field(key), raw)
            if value is not None:
                record[key] = value
        assert not validate_record(record, schema, today=TODAY, divisions=divisions)
        ops.append(
            Op(
                kind=OpKind.CREATE,
                record_id=str(uuid.uuid4()),
                value=record,
                hlc=clock.now(),
                author="370102001/zhang.wei",
                site="370102001-01",
            )
        )
    apply_ops({}, ops, schema.field_policy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.records
    pki = Pki.build()
    schema, divisions = Schema.default(), Divisions.default()
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        save_node: list[float] = []
        save_core: list[float] = []
        auth_node: list[float] = []
        auth_core: list[float] = []
        apply_node: list[float] = []
        apply_core: list[float] = []
        unlock: list[float] = []
        for round_ in range(args.repeat):
            where = Path(tmp) / f"r{round_}"
            where.mkdir()
            node = ready_node(where, pki, Clock())
            services = node.services
            batch = forms(services, n, seed=round_)

            start = time.perf_counter()
            for categories, values in batch:
                assert services.save_record(None, categories, values, COLLECTOR[0]).saved
            save_node.append(time.perf_counter() - start)
            start = time.perf_counter()
            core_save(schema, divisions, batch)
            save_core.append(time.perf_counter() - start)

            start = time.perf_counter()
            services.authorise(APPROVER[0], APPROVER[2])
            auth_node.append(time.perf_counter() - start)
            start = time.perf_counter()
            sealed = seal_keystore(
                {"x": "y"}, b"approver-pass-1", rng=random.randbytes, cost=KDF_INTERACTIVE
            )
            open_keystore(sealed, b"approver-pass-1")
            unlock.append(time.perf_counter() - start)
            start = time.perf_counter()
            core_authorise(pki, services, n)
            auth_core.append(time.perf_counter() - start)

            ops = [hub_create(node, 10_000 + i, counter=i) for i in range(n)]
            data, _ = down_bundle(
                node,
                ops,
                kind=BundleKind.BASELINE,
                seq=1,
                prev=None,
                bundle_id=f"{round_ + 1:032x}",
            )
            path = Path(tmp) / f"down{round_}.bundle"
            path.write_bytes(data)
            start = time.perf_counter()
            report = services.import_files([path])
            apply_node.append(time.perf_counter() - start)
            assert report.items[0].outcome == "applied"
            start = time.perf_counter()
            core_apply(node.services.context.keys, pki, data, schema)
            apply_core.append(time.perf_counter() - start)
            services.close()
    median = statistics.median
    rows = [
        ("save forms (records/s)", n / median(save_node), n / median(save_core)),
        ("authorise + seal (ops/s)", n / median(auth_node), n / median(auth_core)),
        ("apply a baseline (records/s)", n / median(apply_node), n / median(apply_core)),
    ]
    print(f"{n} realistic records, median of {args.repeat} runs\n")
    print(f"{'step':32} {'node':>12} {'core':>12} {'node/core':>10}")
    for name, node_rate, core_rate in rows:
        print(f"{name:32} {node_rate:12,.0f} {core_rate:12,.0f} {node_rate / core_rate:10.2f}")
    print(f"\napprover key unlock (Argon2id INTERACTIVE): {median(unlock) * 1000:.0f} ms per batch")


def core_authorise(pki: Pki, services: NodeServices, n: int) -> None:
    """Sign a manifest and seal n create ops in memory (no store)."""
    clock = HybridClock("370102001-01", lambda: int(NOW.timestamp() * 1000))
    rng = random.Random(9)
    ops = [
        Op(
            kind=OpKind.CREATE,
            record_id=str(uuid.uuid4()),
            value=realistic_record(
                rng, category="retired_soldier", division_code="370102001", today=TODAY
            ),
            hlc=clock.now(),
            author="370102001/zhang.wei",
            site="370102001-01",
        )
        for _ in range(n)
    ]
    key = pki["approver"].keys.signing
    statement = authorise(
        key=key,
        by="370102001/li.na",
        batch_id="0" * 32,
        origin="370102001-01",
        op_ids=[o.op_id for o in ops],
        signed_at=NOW,
    )
    out, spool = io.BytesIO(), io.BytesIO()
    seal_bundle(
        (encode_entry(o) for o in ops),
        kind=BundleKind.DELTA,
        sender="370102001-01",
        recipient="370102",
        seq=1,
        prev=None,
        created=NOW,
        bundle_id="1" * 32,
        signer=services.context.keys.signing,
        recipients=[pki["district"].keys.age.recipient],
        out=out,
        spool=spool,
        auth=statement.to_dict(),
    )


def core_apply(keys: KeyPair, pki: Pki, data: bytes, schema: Schema) -> None:
    """Open, decode and merge a down bundle in memory (no store)."""
    opened = open_bundle(
        io.BytesIO(data),
        trust=StaticTrust.of([pki["district"].keys.signing.public_key]),
        identities=[keys.age],
    )
    ops = [decode_entry(e, i) for i, e in enumerate(opened.entries())]
    apply_ops({}, [o for o in ops if isinstance(o, Op)], schema.field_policy())


if __name__ == "__main__":
    main()
