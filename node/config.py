"""The node's configuration: one frozen :class:`NodeConfig` per process.

Loaded once at start from ``DATA/node.toml`` (``[node]`` table, plus an optional
``[collector]`` table for the ID-card reader) and then from ``MUSTER_NODE_<FIELD>``
environment variables, which win. Every field, its default and its meaning are listed in
docs/node.md ("Configuration"); a test fails when one is missing there.

``muster node init`` writes the file; an operator edits it with a text editor::

    [node]
    node_id = "370102001-01"
    name = "历下区某街道采集点"
    parent_url = "https://hub.example/"
    sync_interval_minutes = 15
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from crypto.age import AgeRecipient
from crypto.errors import KeyFormatError
from node.collector.config import CollectorConfig
from node.configkit import ConfigSource, toml_value
from node.errors import ConfigError
from protocol.divisions import parse_node_id
from protocol.errors import DivisionCodeError

__all__ = ["CONFIG_FILE", "ENV_PREFIX", "NodeConfig"]

#: The configuration file inside the data directory.
CONFIG_FILE: Final = "node.toml"
#: Environment variables ``MUSTER_NODE_<FIELD>`` override the file.
ENV_PREFIX: Final = "MUSTER_NODE_"
_MIB: Final = 1024 * 1024
_URL: Final = re.compile(r"https?://[^\s]+")
#: Fields that are not read from [node]: where the file is, and the [collector] table.
_NOT_IN_FILE: Final = frozenset({"data_dir", "collector"})
_SOURCE: Final = ConfigSource(
    file_name=CONFIG_FILE,
    table="node",
    other_tables=("collector",),
    env_prefix=ENV_PREFIX,
    init_command="muster node init",
    docs="docs/node.md",
    error=ConfigError,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Settings of one node agent (documented field by field in docs/node.md).

    Attributes:
        data_dir: the node's data directory (node.toml, keys/, node.db, exports).
        node_id: this machine's node id, ``<site>-<machine>`` (``370102001-01``).
        name: the collection point's display name (informative, sent with enrollment).
        parent_url: base URL of the parent hub's API, or None when the node is offline only.
        listen_host: address the operator UI binds to (keep 127.0.0.1).
        listen_port: TCP port of the operator UI.
        sync_interval_minutes: how often the scheduler syncs with the parent (0: never).
        session_idle_minutes: operator sessions end after this long without a request.
        http_timeout_seconds: a single request to the hub gives up after this long.
        retry_attempts: tries per request before a sync run gives up.
        retry_base_seconds: first back-off delay; doubled each retry, with jitter.
        retry_max_seconds: longest back-off delay.
        max_ops_per_bundle: a batch with more ops is split into several signed batches.
        max_bundle_bytes: largest bundle the node seals or accepts.
        escrow_recipients: extra age recipients every outgoing bundle is encrypted to.
        schema_dir: a directory of CSV tables overriding the packaged schema, or None.
        divisions_file: a newer division-code list laid over the packaged one, or None.
        clock_max_drift_ms: how far ahead of our clock a received op's time may be.
        collector: the ID-card reader, or None when no reader is attached.
    """

    data_dir: Path
    node_id: str
    name: str = ""
    parent_url: str | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = 8470
    sync_interval_minutes: int = 15
    session_idle_minutes: int = 30
    http_timeout_seconds: float = 60.0
    retry_attempts: int = 4
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    max_ops_per_bundle: int = 20_000
    max_bundle_bytes: int = 64 * _MIB
    escrow_recipients: tuple[str, ...] = ()
    schema_dir: Path | None = None
    divisions_file: Path | None = None
    clock_max_drift_ms: int = 86_400_000
    collector: CollectorConfig | None = field(default=None)

    def __post_init__(self) -> None:
        try:
            node = parse_node_id(self.node_id)
        except DivisionCodeError as exc:
            raise ConfigError(
                f"node_id: expected <site>-<machine> like 370102001-01 ({exc})"
            ) from exc
        if node.machine == 0 or str(node) != self.node_id:
            raise ConfigError("node_id: expected <site>-<two-digit machine> like 370102001-01")
        if self.parent_url is not None and not _URL.fullmatch(self.parent_url):
            raise ConfigError("parent_url: expected an http:// or https:// URL")
        _SOURCE.between("listen_port", self.listen_port, 1, 65535)
        _SOURCE.between("sync_interval_minutes", self.sync_interval_minutes, 0, 24 * 60)
        _SOURCE.between("session_idle_minutes", self.session_idle_minutes, 1, 24 * 60)
        _SOURCE.between("http_timeout_seconds", self.http_timeout_seconds, 1, 3600)
        _SOURCE.between("retry_attempts", self.retry_attempts, 1, 20)
        _SOURCE.between("retry_base_seconds", self.retry_base_seconds, 0, 600)
        _SOURCE.between("retry_max_seconds", self.retry_max_seconds, self.retry_base_seconds, 3600)
        _SOURCE.between("max_ops_per_bundle", self.max_ops_per_bundle, 1, 1_000_000)
        _SOURCE.between("max_bundle_bytes", self.max_bundle_bytes, 64 * 1024, 256 * _MIB)
        _SOURCE.between("clock_max_drift_ms", self.clock_max_drift_ms, 0, 30 * 86_400_000)
        for text in self.escrow_recipients:
            try:
                AgeRecipient(text)
            except KeyFormatError as exc:
                raise ConfigError("escrow_recipients: expected age1… X25519 recipients") from exc

    @property
    def site(self) -> str:
        """The collection point's division code (``370102001``)."""
        return parse_node_id(self.node_id).site_code

    @property
    def keys_dir(self) -> Path:
        """The node's key directory (keystore with the signing key, age identity, store key)."""
        return self.data_dir / "keys"

    @property
    def store_path(self) -> Path:
        """The encrypted SQLite store."""
        return self.data_dir / "node.db"

    @property
    def anchor_path(self) -> Path:
        """The copy of the province root anchor made at ``node init``."""
        return self.data_dir / "anchor.json"

    @property
    def scratch_dir(self) -> Path:
        """Temporary files (bundles being sealed); emptied at every start."""
        return self.data_dir / "tmp"

    @classmethod
    def load(cls, data_dir: Path, environ: Mapping[str, str] | None = None) -> NodeConfig:
        """Read ``data_dir/node.toml`` and apply ``MUSTER_NODE_…`` overrides.

        Raises:
            ConfigError: the file is missing or malformed, a key is unknown, a value has
                the wrong type or is out of range.
        """
        tables = _SOURCE.read(Path(data_dir) / CONFIG_FILE)
        values = tables["node"]
        values.update(_SOURCE.environment(os.environ if environ is None else environ))
        return cls.from_mapping(values, data_dir=Path(data_dir), collector=tables.get("collector"))

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        data_dir: Path,
        collector: Mapping[str, Any] | None = None,
    ) -> NodeConfig:
        """Build from a ``[node]`` table's values (strings from the environment are parsed).

        Raises:
            ConfigError: an unknown key, a wrong type or a value out of range.
        """
        kwargs = _SOURCE.arguments(cls, values, not_in_file=_NOT_IN_FILE)
        if "node_id" not in kwargs:
            raise ConfigError("node settings: node_id is required")
        if collector is not None:
            try:
                kwargs["collector"] = CollectorConfig.from_mapping(collector)
            except Exception as exc:
                raise ConfigError(f"[collector]: {exc}") from exc
        return cls(data_dir=data_dir, **kwargs)

    def to_toml(self) -> str:
        """The ``[node]`` table for node.toml (the settings that differ from defaults)."""
        lines = ["[node]"]
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for f in dataclasses.fields(self):
            if f.name in _NOT_IN_FILE:
                continue
            value = getattr(self, f.name)
            if f.name != "node_id" and value == defaults[f.name]:
                continue
            lines.append(f"{f.name} = {toml_value(value)}")
        return "\n".join(lines) + "\n"
