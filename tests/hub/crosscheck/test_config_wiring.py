"""The ``[crosscheck]`` table of hub.toml: read, overridden, written back, documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.crosscheck import AuthorityPolicy, CrosscheckConfigError, MatchConfig, SourceKind
from hub.crosscheck.authority import Authority
from hub.crosscheck.settings import CrosscheckConfig

DOC = (Path(__file__).resolve().parents[3] / "docs" / "crosscheck.md").read_text("utf-8")

TOML = """\
[hub]
site = "370100"

[crosscheck]
min_score = 0.9
max_proposals = 5
recheck_minutes = 15

[crosscheck.authority]
public_security = ["name", "sex", "birth_date"]
civil_affairs = ["receives_minimum_living_allowance"]
record = ["subject_category"]
"""


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> HubConfig:
    (tmp_path / "hub.toml").write_text(text, "utf-8")
    return HubConfig.load(tmp_path, environ or {})


def test_the_table_sets_matching_authority_and_schedule(tmp_path: Path) -> None:
    settings = _load(tmp_path, TOML).crosscheck
    assert settings.match == MatchConfig(min_score=0.9, max_proposals=5)
    assert settings.recheck_minutes == 15
    policy = settings.authority
    assert policy.authority(SourceKind.PUBLIC_SECURITY, "sex") is Authority.REGISTER
    # The table replaces the default: addresses are no longer the register's to decide.
    assert policy.authority(SourceKind.PUBLIC_SECURITY, "hukou_address") is Authority.NONE
    assert policy.authority(SourceKind.OTHER, "subject_category") is Authority.RECORD


def test_no_table_means_the_documented_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, '[hub]\nsite = "370102"\n').crosscheck == CrosscheckConfig()


def test_the_environment_overrides_scalar_keys(tmp_path: Path) -> None:
    environ = {
        "MUSTER_HUB_CROSSCHECK_MIN_SCORE": "0.95",
        "MUSTER_HUB_CROSSCHECK_CHUNK_ROWS": "2_000",
    }
    settings = _load(tmp_path, TOML, environ).crosscheck
    assert (settings.match.min_score, settings.chunk_rows) == (0.95, 2000)
    assert settings.match.max_proposals == 5


def test_hub_toml_written_back_reads_the_same(tmp_path: Path) -> None:
    config = _load(tmp_path, TOML)
    (tmp_path / "again").mkdir()
    assert _load(tmp_path / "again", config.to_toml()) == dataclasses.replace(
        config, data_dir=tmp_path / "again"
    )
    assert "[crosscheck]" not in HubConfig(data_dir=tmp_path, site="370102").to_toml()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("colour = 1", r"crosscheck settings \['colour'\]: not known \(see docs/crosscheck.md\)"),
        ("min_score = 'high'", "crosscheck.min_score: expected a number"),
        ("min_score = true", "crosscheck.min_score: expected a number"),
        ("max_block = 2.5", "crosscheck.max_block: expected a whole number"),
        ("min_score = 1.5", r"match config: expected 0 < min_score <= 1, saw 1.5"),
        ("name_weight = 0", "weights must be >= 0, the name's > 0"),
        ("chunk_rows = 10", "crosscheck.chunk_rows: expected a value from 100 to 100000, got 10"),
        ("recheck_minutes = -1", "crosscheck.recheck_minutes: expected a value from 0"),
        ("authority = 3", "crosscheck.authority: expected a table"),
        ("[crosscheck.authority]\npolice = ['name']", "authority: unknown source kind 'police'"),
        ("[crosscheck.authority]\nhousing = ['shoe_size']", "authority: unknown field 'shoe_size'"),
        ("[crosscheck.authority]\nhousing = 'name'", "authority.housing: expected a list"),
        ("[crosscheck.authority]\nmedical = ['name']\nrecord = ['name']",
         "field name is given to both medical and the record"),
    ],
)  # fmt: skip
def test_a_bad_table_stops_the_hub_with_the_key_named(
    tmp_path: Path, table: str, message: str
) -> None:
    with pytest.raises(CrosscheckConfigError, match=message):
        _load(tmp_path, f'[hub]\nsite = "370102"\n\n[crosscheck]\n{table}\n')


def test_a_third_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"expected only a \[hub\] and a \[crosscheck\] table"):
        _load(tmp_path, '[hub]\nsite = "370102"\n[reports]\nx = 1\n')


def test_every_key_of_the_table_is_documented() -> None:
    section = DOC[DOC.index("## 10. Configuration") :]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    keys = {f.name for f in dataclasses.fields(CrosscheckConfig)} - {"match"}
    keys |= {f.name for f in dataclasses.fields(MatchConfig)}
    assert keys - documented == set()


def test_the_default_authority_is_the_documented_one() -> None:
    assert CrosscheckConfig().authority == AuthorityPolicy.from_mapping(
        CrosscheckConfig().authority.to_mapping()
    )
