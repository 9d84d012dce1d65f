"""Import one register file in a fresh process and print its peak RSS (KiB).

    python -m tests.hub.crosscheck.rss_probe REGISTER.csv DATASETS.sqlite

Run as a subprocess by test_memory.py, so the figure is the import's alone.
"""

from __future__ import annotations

import resource
import sys
from datetime import UTC, datetime
from pathlib import Path

from hub.crosscheck import SourceKind, SqliteDatasets, import_register, propose_mapping
from hub.crosscheck.synthetic import REGISTER_HEADERS


def main() -> None:
    register, database = Path(sys.argv[1]), Path(sys.argv[2])
    mapping = propose_mapping(
        REGISTER_HEADERS, source="户籍", source_kind=SourceKind.PUBLIC_SECURITY
    )
    with SqliteDatasets(database) as store:
        dataset = import_register(register, mapping, store, dataset_id="a" * 32,
                                  imported_by="bench", imported_at=datetime.now(UTC))  # fmt: skip
    print(dataset.rows_stored, _peak_rss_kib())


def _peak_rss_kib() -> int:
    """This process image's own peak RSS (VmHWM).

    Not ``getrusage``: Linux keeps ``ru_maxrss`` across ``execve``, so a child forked
    from a large pytest process would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main()
