"""``muster hub crosscheck …`` as an administrator runs it: a real ``python -m hub`` process on
a hub's data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.config import HubConfig
from hub.context import HubContext
from hub.escrow import install_escrow
from hub.store.crosscheck_models import DatasetRow, FindingRow
from node.cli.main import EXIT_INPUT, EXIT_STATE, EXIT_USAGE
from tests.hub.crosscheck.wiring import SOURCE, household_mapping, merge_records, write_register
from tests.hub.datadir import context_for, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory
from tests.pki import Pki

pytestmark = pytest.mark.slow


@pytest.fixture
def hub_dir(tmp_path: Path, pki: Pki) -> Iterator[tuple[HubConfig, HubContext]]:
    config = make_data_dir(tmp_path / "hub", pki)
    ctx = context_for(config, pki)
    with ctx.store.write() as session:
        install_escrow(ctx, session, pki.escrow())
    merge_records(ctx, DeltaFactory(pki), 6)
    yield config, ctx
    ctx.store.dispose()


def _count(ctx: HubContext, model: object) -> int:
    with ctx.store.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_import_run_and_list_from_the_command_line(
    hub_dir: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, ctx = hub_dir
    register = write_register(ctx, tmp_path / "户籍.csv")
    done = run_hub("crosscheck", "import", str(register.path), "--source", SOURCE,
                   "--kind", "public_security", "--by", "370102/wang.fang", "--run",
                   data=config.data_dir)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{len(register.planted.rows)} rows stored, 0 skipped" in done.stdout
    assert "5 findings (deceased 1, missing 1, value_mismatch 3), 5 new" in done.stdout
    assert "sent 5 findings and 0 closures down (bundles: 370102001-01 1); 0 unrouted" in (
        done.stdout
    )
    listed = run_hub("crosscheck", "findings", "--json", data=config.data_dir)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["kind"] for r in rows) == ["deceased", "missing"] + ["value_mismatch"] * 3
    assert {(r["state"], r["routed_to"], r["age_days"]) for r in rows} == {("open", "370102001", 0)}
    # Next month the saved mapping is used: no --kind, no mapping file.
    again = run_hub("crosscheck", "import", str(register.path), "--source", SOURCE,
                    data=config.data_dir)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert _count(ctx, DatasetRow) == 2


def test_a_mapping_is_printed_corrected_and_given_back(
    hub_dir: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, ctx = hub_dir
    register = write_register(ctx, tmp_path / "household.csv")
    shown = run_hub("crosscheck", "mapping", str(register.path), "--source", SOURCE,
                    "--kind", "public_security", data=config.data_dir)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    mapping = json.loads(shown.stdout)
    assert mapping["columns"][:2] == [["公民身份号码", "id_number"], ["姓名", "name"]]
    mapping["columns"] = [c for c in mapping["columns"] if c[1] != "hukou_address"]
    corrected = tmp_path / "mapping.json"
    corrected.write_text(json.dumps(mapping, ensure_ascii=False), "utf-8")
    done = run_hub("crosscheck", "import", str(register.path), "--source", SOURCE,
                   "--mapping", str(corrected), "--run", data=config.data_dir)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with ctx.store.read() as session:
        fields = set(session.scalars(sa.select(FindingRow.field)))
    assert "hukou_address" not in fields  # the corrected mapping no longer maps it
    assert household_mapping().source == mapping["source"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--source", "新名单"), EXIT_USAGE, "source '新名单' has no saved mapping: give --kind"),
        (("--source", SOURCE, "--kind", "public_security", "--encoding", "klingon"), EXIT_INPUT,
         "register file: unknown encoding 'klingon'"),
    ],
)  # fmt: skip
def test_a_refused_import_says_why_and_stores_nothing(
    hub_dir: tuple[HubConfig, HubContext],
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    config, ctx = hub_dir
    register = write_register(ctx, tmp_path / "household.csv")
    done = run_hub("crosscheck", "import", str(register.path), *args, data=config.data_dir)
    assert (done.returncode, done.stdout) == (code, "")
    assert done.stderr.strip() == f"muster: error: {message}"
    assert (_count(ctx, DatasetRow), _count(ctx, FindingRow)) == (0, 0)


def test_a_mapping_file_of_another_source_is_refused(
    hub_dir: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, ctx = hub_dir
    register = write_register(ctx, tmp_path / "household.csv")
    other = tmp_path / "other.json"
    other.write_text(household_mapping("别的名单").to_json(), "utf-8")
    done = run_hub("crosscheck", "import", str(register.path), "--source", SOURCE,
                   "--mapping", str(other), data=config.data_dir)  # fmt: skip
    assert done.returncode == EXIT_INPUT
    assert "the mapping is for source '别的名单', not '历下区户籍'" in done.stderr
    assert _count(ctx, DatasetRow) == 0


def test_accepting_an_unanswered_finding_is_refused(
    hub_dir: tuple[HubConfig, HubContext], tmp_path: Path
) -> None:
    config, ctx = hub_dir
    register = write_register(ctx, tmp_path / "household.csv")
    run_hub("crosscheck", "import", str(register.path), "--source", SOURCE, "--kind",
            "public_security", "--run", data=config.data_dir)  # fmt: skip
    with ctx.store.read() as session:
        finding = session.scalars(sa.select(FindingRow.finding_id)).first()
    assert finding is not None
    done = run_hub("crosscheck", "accept", finding, "--by", "370102/wang.fang",
                   data=config.data_dir)  # fmt: skip
    assert done.returncode == EXIT_STATE
    assert f"finding {finding}: AnswerAccepted is not allowed when open" in done.stderr
    unknown = run_hub("crosscheck", "accept", "0" * 32, "--by", "x", data=config.data_dir)
    assert unknown.returncode == EXIT_INPUT
    assert f"no finding {'0' * 32}" in unknown.stderr
