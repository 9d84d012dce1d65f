"""The demo's province report (issue 8), made as the province's operator would make it.

1. The province's operator enters the ministry's age recipient in the province hub's
   ``hub.toml`` (``ministry_recipient``; the demo makes the ministry's key and keeps it
   under ``reports/`` so the package can be opened).
2. ``muster hub report --period <this month> --format both --ministry`` at the province:
   the summary workbook, the printable pages (Chinese and English, charts drawn with the
   vendored ECharts) and the ministry's folder (the province's package of all merged
   records, authorised by the province's own administrator key, plus the workbook).
3. The step opens the workbook and checks its figures against the province's own store:
   the people it counts are the live records the province holds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Final

import openpyxl
import sqlalchemy as sa

from crypto.age import AgeIdentity
from hub.demo.scenario import Outcome, check, done
from hub.demo.summary import read_only_engine
from hub.demo.world import World
from node.fsutil import write_atomic
from protocol.ops import STATUS_LIVE

__all__ = ["province_report"]

_WRITTEN: Final = re.compile(r"^report written: (.+)$", re.M)
_MINISTRY: Final = re.compile(
    r"^ministry output written: (\S+) \((\d+) package bundles, (\d+) ops", re.M
)
_PROGRESS_SHEET: Final = "各地区采集进度"


def _set_ministry_recipient(config: Path, recipient: str) -> None:
    """Add ``ministry_recipient`` to the ``[hub]`` table of a hub.toml (once)."""
    text = config.read_text("utf-8")
    if tomllib.loads(text).get("hub", {}).get("ministry_recipient") == recipient:
        return
    lines = text.splitlines()
    at = lines.index("[hub]") + 1
    lines.insert(at, f'ministry_recipient = "{recipient}"')
    write_atomic(config, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o644)


def _live_records(database: Path) -> int:
    engine = read_only_engine(database)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                sa.text("SELECT count(*) FROM records WHERE status = :live"),
                {"live": STATUS_LIVE},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(count)


def _collected(workbook: Path, root: str) -> int:
    sheet = openpyxl.load_workbook(workbook, read_only=True)[_PROGRESS_SHEET]
    for row in sheet.iter_rows(min_row=2, values_only=True):
        if row[0] == root:
            value = row[3]
            return value if isinstance(value, int) else -1
    return -1


async def province_report(world: World) -> Outcome:
    """Write the province report (XLSX, HTML) and the ministry's output; print where."""
    root = world.province.root.ident
    launcher, layout = world.launcher, world.layout
    hub_dir = layout.hub_dir(root)
    out = layout.reports
    out.mkdir(parents=True, exist_ok=True)
    ministry = AgeIdentity.generate()
    write_atomic(out / "ministry-demo.key", ministry.to_file_text().encode("ascii"), mode=0o600)
    _set_ministry_recipient(hub_dir / "hub.toml", str(ministry.recipient))
    month = f"{world.today:%Y-%m}"
    printed = await launcher.runner.run(
        ["hub", "report", "--data", str(hub_dir), "--passphrase-file",
         str(launcher.passphrase_file(root)), "--period", month, "--format", "both",
         "--out", str(out), "--ministry"],
        log_name=f"report-{root}",
    )  # fmt: skip
    paths = [Path(p) for p in _WRITTEN.findall(printed)]
    xlsx = next((p for p in paths if p.suffix == ".xlsx"), None)
    html = next((p for p in paths if p.suffix == ".html"), None)
    check(xlsx is not None and xlsx.exists(), f"report: no workbook among {paths}")
    check(html is not None and html.exists(), f"report: no page among {paths}")
    assert xlsx is not None
    assert html is not None
    ministry_line = _MINISTRY.search(printed)
    check(ministry_line is not None, "report: no ministry output was written")
    assert ministry_line is not None
    folder, bundles, ops = ministry_line.group(1), ministry_line.group(2), ministry_line.group(3)
    held = _live_records(hub_dir / "hub.db")
    collected = _collected(xlsx, root)
    check(
        collected == held,
        f"report: the workbook counts {collected} people collected, the province holds {held}",
    )
    world.ledger.event(
        "report", xlsx=str(xlsx), html=str(html), ministry=folder, collected=collected,
        bundles=int(bundles), ops=int(ops),
    )  # fmt: skip
    return done(
        f"province report for {month}: {collected} people collected; workbook {xlsx}, "
        f"printable page {html}; for the ministry: {folder} ({bundles} package bundles, "
        f"{ops} ops, encrypted to the ministry's key in {out / 'ministry-demo.key'})"
    )
