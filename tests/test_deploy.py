"""The deployment samples stay true: configs load with the real config classes, and the
shell and unit files are well formed."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.config import HubConfig
from node.config import NodeConfig

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _data_dir(tmp_path: Path, name: str, sample: str) -> Path:
    data = tmp_path / name
    data.mkdir()
    (data / name).write_text((DEPLOY / "config" / sample).read_text("utf-8"), "utf-8")
    return data


def test_the_hub_sample_loads_with_every_field_valid(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, "hub.toml", "hub.toml.sample")
    config = HubConfig.load(data, environ={})
    assert config.site == "370100"
    assert config.db_url.startswith("postgresql+psycopg://")


def test_the_node_sample_loads_with_its_reader(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, "node.toml", "node.toml.sample")
    config = NodeConfig.load(data, environ={})
    assert config.node_id == "370102001-01"
    assert config.collector is not None


@pytest.mark.parametrize("unit", ["muster-hub.service", "muster-node.service"])
def test_systemd_units_have_the_sections_systemd_needs(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keep key case
    parser.read(DEPLOY / "systemd" / unit)
    assert parser["Service"]["ExecStart"].startswith("/opt/muster/.venv/bin/muster ")
    assert parser["Service"]["NoNewPrivileges"] == "yes"
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_the_backup_script_is_valid_bash() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-n", str(DEPLOY / "backup" / "muster-backup.sh")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
