"""NodeConfig: node.toml plus MUSTER_NODE_… overrides, every field checked and documented."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from node.config import NodeConfig
from node.errors import ConfigError

DOCS = Path(__file__).resolve().parents[3] / "docs" / "node.md"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "node.toml").write_text(text, "utf-8")
    return tmp_path


def test_every_config_field_is_documented() -> None:
    docs = DOCS.read_text("utf-8")
    missing = [f.name for f in fields(NodeConfig) if f"| `{f.name}` |" not in docs]
    assert missing == []


def test_the_file_gives_settings_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    _write(tmp_path, '[node]\nnode_id = "370102001-02"\nname = "x"\nsync_interval_minutes = 5\n')
    config = NodeConfig.load(tmp_path, environ={})
    assert (config.node_id, config.site, config.sync_interval_minutes) == (
        "370102001-02",
        "370102001",
        5,
    )
    assert config.listen_host == "127.0.0.1"
    assert config.parent_url is None
    assert config.store_path == tmp_path / "node.db"


def test_environment_overrides_win(tmp_path: Path) -> None:
    _write(tmp_path, '[node]\nnode_id = "370102001-01"\nsync_interval_minutes = 5\n')
    config = NodeConfig.load(
        tmp_path,
        environ={
            "MUSTER_NODE_SYNC_INTERVAL_MINUTES": "30",
            "MUSTER_NODE_PARENT_URL": "https://hub.example/",
            "MUSTER_NODE_ESCROW_RECIPIENTS": "",
            "MUSTER_NODE_HTTP_TIMEOUT_SECONDS": "12.5",
            "OTHER": "ignored",
        },
    )
    assert config.sync_interval_minutes == 30
    assert config.parent_url == "https://hub.example/"
    assert config.http_timeout_seconds == 12.5


def test_to_toml_round_trips(tmp_path: Path) -> None:
    config = NodeConfig(
        data_dir=tmp_path,
        node_id="370102001-01",
        name='a "quoted" name',
        parent_url="http://127.0.0.1:8480/",
        max_ops_per_bundle=7,
    )
    _write(tmp_path, config.to_toml())
    assert NodeConfig.load(tmp_path, environ={}) == config


def test_a_collector_table_configures_the_reader(tmp_path: Path) -> None:
    _write(tmp_path, '[node]\nnode_id = "370102001-01"\n[collector]\nport_url = "loop://"\n')
    config = NodeConfig.load(tmp_path, environ={})
    assert config.collector is not None
    assert config.collector.port_url == "loop://"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("", {}, "node_id is required"),
        ('[node]\nnode_id = "370102001"\n', {}, "two-digit machine"),
        ('[node]\nnode_id = "370102001-01"\ncolour = "red"\n', {}, "not known"),
        ('[node]\nnode_id = "370102001-01"\nlisten_port = "x"\n', {}, "a whole number"),
        ('[node]\nnode_id = "370102001-01"\nlisten_port = 0\n', {}, "listen_port: expected a"),
        ('[node]\nnode_id = "370102001-01"\nparent_url = "ftp://x"\n', {}, "http:// or https://"),
        (
            '[node]\nnode_id = "370102001-01"\n',
            {"MUSTER_NODE_RETRY_ATTEMPTS": "lots"},
            "a whole number",
        ),
        (
            '[node]\nnode_id = "370102001-01"\nescrow_recipients = ["age1nope"]\n',
            {},
            "age1… X25519",
        ),
        ('[node]\nnode_id = "370102001-01"\n[printer]\n', {}, "unknown tables"),
        ("[node\n", {}, "not readable TOML"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        NodeConfig.load(tmp_path, environ=environ)


def test_a_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `muster node init`"):
        NodeConfig.load(tmp_path, environ={})
