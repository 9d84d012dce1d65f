"""Cross-check throughput: import and match a large register against collected records.

Generates a household register of ``--rows`` people (default 1,000,000) of whom
``--records`` (default 200,000) were collected; 2 % of the register's rows have
no ID number (so they go through the fuzzy proposals) and 1 % of the collected
people disagree on their name. Then it measures, in the same run:

- baseline: Python's csv module reading the same file, no processing;
- import: the file into an SQLite dataset file (:func:`import_register`);
- index: the collected records into a :class:`RecordIndex`;
- match: every stored row matched and compared (:func:`check_dataset`).

Prints rows/s for each, the ratio of import to baseline, and peak RSS after
each stage (``resource.getrusage``). Asserts nothing.

    python bench/crosscheck.py [--rows 1000000] [--records 200000]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from hub.crosscheck.synthetic import (
    REGISTER_HEADERS,
    SyntheticPerson,
    record_values,
    register_cells,
    synthetic_people,
)

TOWNS = tuple(f"3701{county:02d}{town:03d}" for county in (2, 3, 4, 5, 12) for town in (1, 2, 3, 4))
SEED = 2026


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
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

        mapping = propose_mapping(REGISTER_HEADERS, source="户籍",
                                  source_kind=SourceKind.PUBLIC_SECURITY)  # fmt: skip
        start = time.perf_counter()
        with SqliteDatasets(Path(tmp) / "datasets.sqlite") as store:
            dataset = import_register(
                register, mapping, store, dataset_id="b" * 32, imported_by="bench",
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


if __name__ == "__main__":
    main()
