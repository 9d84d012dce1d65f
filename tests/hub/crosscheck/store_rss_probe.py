"""Import one register into a hub store in a fresh process; print rows stored and peak RSS.

    python -m tests.hub.crosscheck.store_rss_probe REGISTER.csv DB_URL

The store must be migrated already. Run as a subprocess by test_memory_wiring.py and
bench/crosscheck.py, so the figure is the import's alone: VmHWM from /proc/self/status,
this process image's own peak (``ru_maxrss`` would carry the parent's size across exec).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from hub.crosscheck import SourceKind, import_register, propose_mapping
from hub.crosscheck.storedatasets import DatasetWriter
from hub.crosscheck.synthetic import REGISTER_HEADERS
from hub.store import Store


def peak_rss_kib() -> int:
    """This process image's peak resident set (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    register, url = Path(sys.argv[1]), sys.argv[2]
    mapping = propose_mapping(REGISTER_HEADERS, source="户籍",
                              source_kind=SourceKind.PUBLIC_SECURITY)  # fmt: skip
    store = Store(url)
    try:
        writer = DatasetWriter(store, source=mapping.source, source_kind=mapping.source_kind,
                               now=lambda: datetime.now(UTC))  # fmt: skip
        dataset = import_register(register, mapping, writer, dataset_id="e" * 32,
                                  imported_by="probe", imported_at=datetime.now(UTC))  # fmt: skip
    finally:
        store.dispose()
    print(dataset.rows_stored, peak_rss_kib())


if __name__ == "__main__":
    main()
