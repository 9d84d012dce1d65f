"""HubConfig: TOML, environment overrides, defaults by level, and refusals that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_county_hub_auto_approves_town_bundles_and_a_city_hub_none(tmp_path: Path) -> None:
    assert HubConfig(data_dir=tmp_path, site="370102").auto_approve_levels == ("town", "county")
    assert HubConfig(data_dir=tmp_path, site="370100").auto_approve_levels == ()
    assert HubConfig(data_dir=tmp_path, site="370000").auto_approve_levels == ()


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[hub]\nsite = "370102"\nworkers = 2\n')
    config = HubConfig.load(
        path,
        environ={
            "MUSTER_HUB_WORKERS": "3",
            "MUSTER_HUB_COOKIE_SECURE": "false",
            "MUSTER_HUB_AUTO_APPROVE_LEVELS": "town",
        },
    )
    assert config.workers == 3
    assert config.cookie_secure is False
    assert config.auto_approve_levels == ("town",)
    assert config.data_dir == tmp_path
    assert config.database_url == f"sqlite:///{tmp_path / 'hub.db'}"


def test_to_toml_round_trips(tmp_path: Path) -> None:
    config = HubConfig(
        data_dir=tmp_path,
        site="370100",
        name="济南市",
        workers=4,
        escrow_recipients=(),
        auto_approve_levels=("county",),
    )
    again = HubConfig.load(write(tmp_path, config.to_toml()), environ={})
    assert again == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[hub]\nsite = "370102"\ncolour = "red"\n', "['colour']: not known"),
        ("[hub]\nworkers = 1\n", "site is required"),
        ('[hub]\nsite = "3701"\n', "site: expected a 6-digit division code"),
        ('[hub]\nsite = "370102001"\n', "a hub is a province, city or county office"),
        ('[hub]\nsite = "370102"\nworkers = "many"\n', "workers: expected a whole number"),
        ('[hub]\nsite = "370102"\nworkers = 100\n', "workers: expected a value from 0 to 64"),
        ('[hub]\nsite = "370102"\nauto_approve_levels = ["street"]\n', "unknown levels"),
        ('[hub]\nsite = "370102"\nescrow_recipients = ["age1nope"]\n', "escrow_recipients"),
        ("[hub\n", "not readable TOML"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        HubConfig.load(write(tmp_path, text), environ={})


def test_a_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `muster hub init`"):
        HubConfig.load(tmp_path / "nowhere.toml", environ={})
