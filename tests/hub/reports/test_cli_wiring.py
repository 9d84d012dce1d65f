"""``muster hub report`` and ``muster hub export-records`` as real processes on a hub data
directory loaded with the campaign of storedata.py: the workbook opens with openpyxl and
holds the hand-computed numbers; the export is refused for a viewer and audited for an
administrator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from crypto.age import AgeIdentity
from crypto.keystore import KDF_INTERACTIVE, seal_keystore
from hub.accounts import create_account
from hub.config import HubConfig
from hub.context import HubContext
from hub.escrow import install_escrow
from hub.store.models import AuditRow
from node.keyfiles import KeyDir
from tests.hub.datadir import PASSPHRASE, context_for, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory
from tests.hub.reports.storedata import load_campaign
from tests.pki import Pki

PASSWORD = "correct horse 2026"


@pytest.fixture
def campaign(tmp_path: Path, pki: Pki, deltas: DeltaFactory) -> tuple[HubConfig, HubContext]:
    config = make_data_dir(tmp_path / "data", pki)
    ctx = context_for(config, pki)
    with ctx.store.write() as session:
        install_escrow(ctx, session, pki.escrow())
    load_campaign(ctx, deltas)
    for login, role in (("chief", "admin"), ("clerk", "viewer")):
        create_account(ctx, login=login, display_name=login, role=role, password=PASSWORD,
                       by="test")  # fmt: skip
    (tmp_path / "password").write_text(PASSWORD + "\n", "utf-8")
    return config, ctx


def _written(stdout: str, prefix: str) -> list[Path]:
    return [Path(line.split(": ", 1)[1]) for line in stdout.splitlines() if line.startswith(prefix)]


def test_the_report_command_writes_the_workbook_and_the_pages(
    campaign: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, _ = campaign
    out = tmp_path / "out"
    narrative = tmp_path / "narrative.txt"
    narrative.write_text("十一月进展顺利。", "utf-8")
    done = run_hub("report", "--period", "2026-11", "--out", str(out), "--narrative-file",
                   str(narrative), data=config.data_dir)  # fmt: skip
    assert done.returncode == 0, done.stderr
    paths = _written(done.stdout, "report written")
    assert [p.name for p in paths] == [
        "report-370102-2026-11-01_2026-11-30.xlsx",
        "report-370102-2026-11-01_2026-11-30.html",
    ]
    workbook = openpyxl.load_workbook(paths[0])
    rows = {r[0]: r for r in workbook["各地区采集进度"].iter_rows(min_row=2, values_only=True)}
    # storedata.py: 370102001 expects 10, collected 5 (50 %), authorised 5, merged 4.
    assert rows["370102001"][2:8] == (10, 5, 0.5, 5, 4, 0)
    assert rows["370102002"][2:8] == (4, 2, 0.5, 2, 2, 0)
    assert rows["370102"][2:5] == (14, 7, 0.5)
    summary = workbook["概况"]
    assert summary["A18"].value == "十一月进展顺利。"
    page = paths[1].read_text("utf-8")
    assert page.count('class="muster-chart ') == 6
    assert (out / "assets" / "vendor" / "echarts.min.js").exists()
    assert (out / "report-370102-2026-11-01_2026-11-30.en.html").exists()


def test_a_malformed_period_is_refused_and_writes_nothing(
    campaign: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, _ = campaign
    out = tmp_path / "out"
    done = run_hub("report", "--period", "2026-13", "--out", str(out), data=config.data_dir)
    assert done.returncode != 0
    assert "2026-13 is not a calendar month" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def _export(config: HubConfig, tmp_path: Path, login: str, out: Path) -> object:
    return run_hub("export-records", "--login", login, "--password-file",
                   str(tmp_path / "password"), "--out", str(out), "--fields",
                   "name,id_number,hukou_division_code", data=config.data_dir)  # fmt: skip


def _audit(ctx: HubContext) -> list[tuple[str, str]]:
    with ctx.store.read() as session:
        return [
            (a, s)
            for a, s in session.execute(
                sa.select(AuditRow.action, AuditRow.actor).order_by(AuditRow.seq)
            )
            if a.startswith("records.")
        ]


def test_a_viewer_may_not_export_records_and_the_refusal_is_audited(
    campaign: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, ctx = campaign
    out = tmp_path / "records.xlsx"
    done = _export(config, tmp_path, "clerk", out)
    assert done.returncode != 0  # type: ignore[attr-defined]
    assert "may not export records" in done.stderr  # type: ignore[attr-defined]
    assert not out.exists()
    assert _audit(ctx) == [("records.export_refused", "clerk")]


def test_an_administrator_exports_the_chosen_fields_and_it_is_audited(
    campaign: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, ctx = campaign
    out = tmp_path / "records.xlsx"
    done = _export(config, tmp_path, "chief", out)
    assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
    assert "exported 7 records (3 fields)" in done.stdout  # type: ignore[attr-defined]
    assert out.stat().st_mode & 0o777 == 0o600
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["姓名", "公民身份号码", "户籍所在地区划代码"]
    assert sheet.max_row == 8
    assert _audit(ctx) == [("records.exported", "chief")]
    with ctx.store.read() as session:
        details = session.scalar(
            sa.select(AuditRow.details).where(AuditRow.action == "records.exported")
        )
    assert details is not None
    assert '"records":7' in details
    assert "name" in details


def test_the_ministry_output_is_written_with_an_administrator_s_key(
    campaign: tuple[HubConfig, HubContext], tmp_path: Path, pki: Pki
) -> None:
    config, _ = campaign
    keys = KeyDir(tmp_path / "admin-keys")
    keys.path.mkdir(parents=True)
    admin = pki["admin"]
    keys.keystore.write_bytes(
        seal_keystore(admin.keys.to_secrets(), PASSPHRASE, rng=os.urandom, cost=KDF_INTERACTIVE)
    )
    keys.write_public(admin.keys, admin.subject)
    ministry = AgeIdentity.generate()
    out = tmp_path / "out"
    done = run_hub("report", "--period", "2026-11", "--format", "xlsx", "--out", str(out),
                   "--ministry", "--key", str(keys.path), "--key-passphrase-file",
                   str(config.data_dir / "passphrase"), data=config.data_dir,
                   env={"MUSTER_HUB_MINISTRY_RECIPIENT": str(ministry.recipient)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ministry output written" in done.stdout
    folder = out / "ministry-370102-2026-11-01_2026-11-30"
    manifest = json.loads((folder / "MANIFEST.json").read_text("utf-8"))
    assert (manifest["records"], manifest["authorised_by"]) == (7, admin.subject)
    assert [b["seq"] for b in manifest["bundles"]] == [1]


def test_the_ministry_output_needs_a_recipient(
    campaign: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, _ = campaign
    out = tmp_path / "out"
    done = run_hub("report", "--period", "2026-11", "--format", "xlsx", "--out", str(out),
                   "--ministry", data=config.data_dir)  # fmt: skip
    assert done.returncode != 0
    assert "no ministry_recipient in hub.toml" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
