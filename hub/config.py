"""The hub's configuration: one frozen :class:`HubConfig` per process.

Loaded once at start from ``DATA/hub.toml`` (a ``[hub]`` table) and then from
``MUSTER_HUB_<FIELD>`` environment variables, which win. Every field, its default
and its meaning are listed in docs/hub.md ("Configuration"); a test fails when one
is missing there. ``muster hub init`` writes the file::

    [hub]
    site = "370102"
    name = "历下区退役军人事务局"
    db_url = "postgresql+psycopg://muster@/muster_hub"
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
from hub.crosscheck.settings import CrosscheckConfig
from hub.errors import ConfigError
from node.configkit import ConfigSource, toml_value
from protocol.bundle import BundleLimits
from protocol.divisions import Level, level_of
from protocol.errors import DivisionCodeError

__all__ = ["CONFIG_FILE", "ENV_PREFIX", "LEVEL_NAMES", "HubConfig"]

#: The configuration file inside the data directory.
CONFIG_FILE: Final = "hub.toml"
#: Environment variables ``MUSTER_HUB_<FIELD>`` override the file.
ENV_PREFIX: Final = "MUSTER_HUB_"
#: Sender levels as written in ``auto_approve_levels``.
LEVEL_NAMES: Final = {
    Level.PROVINCE: "province",
    Level.CITY: "city",
    Level.COUNTY: "county",
    Level.TOWN: "town",
    Level.VILLAGE: "village",
}
_MIB: Final = 1 << 20
_NOT_IN_FILE: Final = frozenset({"data_dir", "crosscheck"})
#: ``MUSTER_HUB_CROSSCHECK_<KEY>`` overrides a key of the ``[crosscheck]`` table.
_CROSSCHECK_ENV: Final = "crosscheck_"
_SOURCE: Final = ConfigSource(
    file_name=CONFIG_FILE,
    table="hub",
    other_tables=("crosscheck",),
    env_prefix=ENV_PREFIX,
    init_command="muster hub init",
    docs="docs/hub.md",
    error=ConfigError,
)
_URL: Final = re.compile(r"https?://[^\s]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class HubConfig:
    """Settings of one hub process (documented field by field in docs/hub.md).

    Attributes:
        data_dir: the hub's data directory (hub.toml, keys/, bundles/, down/, hub.db).
        site: the hub's division code and subject id (``370102``, ``370100``, ``370000``).
        name: the office's display name.
        db_url: SQLAlchemy URL of the store; empty means ``sqlite:///DATA/hub.db``.
        listen_host: address the API and console bind to.
        listen_port: TCP port of the API and console.
        max_bundle_bytes: largest bundle taken in (HTTP 413 beyond).
        auto_approve_levels: sender levels whose clean bundles merge without review;
            None means the default for the hub's level (a county hub: town and county
            senders; city and province hubs: none).
        workers: pipeline tasks (verify, stage, merge) in this process; 0 runs none.
        poll_seconds: how often an idle worker looks for work.
        claim_lease_seconds: a claimed bundle returns to the queue after this long.
        merge_chunk_ops: ops applied per step of a merge (memory stays flat).
        escrow_recipients: extra age recipients of every bundle the hub seals.
        certificate_days: validity of the certificates this hub issues.
        session_idle_minutes: console and admin API sessions end after this idle time.
        max_failed_logins: failed logins in a row before an account is locked.
        login_lock_minutes: how long such a lock lasts.
        request_skew_seconds: how far a signed request's time may be from ours.
        clock_max_drift_ms: how far ahead of our clock a received op's time may be.
        cookie_secure: send session cookies only over HTTPS (keep true behind TLS).
        parent_url: base URL of the parent hub's API; empty: packages travel by USB only
            (and a province has no parent).
        package_authorisation: ``auto`` (the hub's own administrator key authorises its
            packages) or ``admin`` (an administrator does, ``muster hub package
            --authorise``); empty means the default for the hub's level (a county hub:
            auto; city: admin).
        package_max_ops: ops per package bundle at most (a bigger merge is split).
        package_max_bytes: bytes of ops and blobs per package bundle, about.
        package_interval_seconds: how often new merges are packaged for the parent.
        sync_interval_seconds: how often the hub syncs with its parent.
        job_max_backoff_seconds: the longest wait before a failed scheduled job runs again.
        jobs: run the scheduled jobs in this process (one process per store should).
        report_snapshot_minutes: how often today's report snapshot is taken (the day's
            last one is kept; docs/reports.md §8.4).
        ministry_recipient: the ministry's age recipient, to which ``muster hub report
            --ministry`` encrypts the province's package (empty: no ministry output).
        crosscheck: the ``[crosscheck]`` table (docs/crosscheck.md §10): authority per
            field, matching, the fix loop's schedule.
    """

    data_dir: Path
    site: str
    name: str = ""
    db_url: str = ""
    listen_host: str = "127.0.0.1"
    listen_port: int = 8480
    max_bundle_bytes: int = 256 * _MIB
    auto_approve_levels: tuple[str, ...] | None = None
    workers: int = 1
    poll_seconds: float = 1.0
    claim_lease_seconds: int = 900
    merge_chunk_ops: int = 2000
    escrow_recipients: tuple[str, ...] = ()
    certificate_days: int = 730
    session_idle_minutes: int = 30
    max_failed_logins: int = 5
    login_lock_minutes: int = 15
    request_skew_seconds: int = 300
    clock_max_drift_ms: int = 86_400_000
    cookie_secure: bool = True
    parent_url: str = ""
    package_authorisation: str = ""
    package_max_ops: int = 20_000
    package_max_bytes: int = 64 * _MIB
    package_interval_seconds: int = 60
    sync_interval_seconds: int = 300
    job_max_backoff_seconds: int = 3600
    jobs: bool = True
    report_snapshot_minutes: int = 60
    ministry_recipient: str = ""
    crosscheck: CrosscheckConfig = field(default_factory=CrosscheckConfig)

    def __post_init__(self) -> None:
        try:
            level = level_of(self.site)
        except DivisionCodeError as exc:
            raise ConfigError("site: expected a 6-digit division code like 370102") from exc
        if len(self.site) != 6:
            raise ConfigError("site: a hub is a province, city or county office (6 digits)")
        if self.auto_approve_levels is None:
            default = ("town", "county") if level is Level.COUNTY else ()
            object.__setattr__(self, "auto_approve_levels", default)
        unknown = set(self.auto_approve_levels or ()) - set(LEVEL_NAMES.values())
        if unknown:
            raise ConfigError(
                f"auto_approve_levels: unknown levels {sorted(unknown)}; "
                f"expected some of {sorted(LEVEL_NAMES.values())}"
            )
        if not self.package_authorisation:
            policy = "auto" if level is Level.COUNTY else "admin"
            object.__setattr__(self, "package_authorisation", policy)
        if self.package_authorisation not in ("auto", "admin"):
            raise ConfigError("package_authorisation: expected auto or admin")
        if self.parent_url and not _URL.fullmatch(self.parent_url):
            raise ConfigError("parent_url: expected an http:// or https:// URL")
        _SOURCE.between("package_max_ops", self.package_max_ops, 1, 1_000_000)
        _SOURCE.between("package_max_bytes", self.package_max_bytes, 64 * 1024, 1024 * _MIB)
        _SOURCE.between("package_interval_seconds", self.package_interval_seconds, 1, 86_400)
        _SOURCE.between("sync_interval_seconds", self.sync_interval_seconds, 1, 86_400)
        _SOURCE.between("job_max_backoff_seconds", self.job_max_backoff_seconds, 1, 7 * 86_400)
        _SOURCE.between("listen_port", self.listen_port, 0, 65535)
        _SOURCE.between("max_bundle_bytes", self.max_bundle_bytes, 64 * 1024, 1024 * _MIB)
        _SOURCE.between("workers", self.workers, 0, 64)
        _SOURCE.between("poll_seconds", self.poll_seconds, 0.01, 3600)
        _SOURCE.between("claim_lease_seconds", self.claim_lease_seconds, 5, 86_400)
        _SOURCE.between("merge_chunk_ops", self.merge_chunk_ops, 1, 100_000)
        _SOURCE.between("certificate_days", self.certificate_days, 1, 3650)
        _SOURCE.between("session_idle_minutes", self.session_idle_minutes, 1, 24 * 60)
        _SOURCE.between("max_failed_logins", self.max_failed_logins, 1, 100)
        _SOURCE.between("login_lock_minutes", self.login_lock_minutes, 1, 24 * 60)
        _SOURCE.between("request_skew_seconds", self.request_skew_seconds, 1, 3600)
        _SOURCE.between("clock_max_drift_ms", self.clock_max_drift_ms, 0, 30 * 86_400_000)
        _SOURCE.between("report_snapshot_minutes", self.report_snapshot_minutes, 1, 24 * 60)
        if self.ministry_recipient:
            try:
                AgeRecipient(self.ministry_recipient)
            except KeyFormatError as exc:
                raise ConfigError("ministry_recipient: expected an age1… X25519 recipient") from exc
        for text in self.escrow_recipients:
            try:
                AgeRecipient(text)
            except KeyFormatError as exc:
                raise ConfigError("escrow_recipients: expected age1… X25519 recipients") from exc

    @property
    def database_url(self) -> str:
        """The store's SQLAlchemy URL (the SQLite file in the data directory by default)."""
        return self.db_url or f"sqlite:///{self.data_dir / 'hub.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def bundles_dir(self) -> Path:
        """Raw bundles taken in, named by their BLAKE2b-256, never changed."""
        return self.data_dir / "bundles"

    @property
    def down_dir(self) -> Path:
        """Bundles this hub sealed for its children."""
        return self.data_dir / "down"

    @property
    def blobs_dir(self) -> Path:
        """Photos and scans of merged records, by content address."""
        return self.data_dir / "blobs"

    @property
    def scratch_dir(self) -> Path:
        """Temporary files (uploads in progress, sealing spools)."""
        return self.data_dir / "tmp"

    @property
    def anchor_path(self) -> Path:
        """The province root anchor, copied at ``hub init``."""
        return self.data_dir / "anchor.json"

    @property
    def limits(self) -> BundleLimits:
        return BundleLimits(max_bundle_bytes=self.max_bundle_bytes)

    @classmethod
    def load(cls, path: Path, environ: Mapping[str, str] | None = None) -> HubConfig:
        """Read a hub.toml (its directory is the data directory) and apply the environment.

        Raises:
            ConfigError: missing or malformed file, unknown keys, wrong types or ranges.
        """
        path = Path(path)
        if path.is_dir():
            path = path / CONFIG_FILE
        tables = _SOURCE.read(path)
        values, table = tables["hub"], tables.get("crosscheck", {})
        for key, value in _SOURCE.environment(os.environ if environ is None else environ).items():
            if key.startswith(_CROSSCHECK_ENV):
                table[key[len(_CROSSCHECK_ENV) :]] = value
            else:
                values[key] = value
        return cls.from_mapping(
            values, data_dir=path.parent, crosscheck=CrosscheckConfig.from_table(table)
        )

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        data_dir: Path,
        crosscheck: CrosscheckConfig | None = None,
    ) -> HubConfig:
        """Build from a ``[hub]`` table (strings from the environment are parsed).

        Raises:
            ConfigError: an unknown key, a wrong type or a value out of range.
        """
        kwargs = _SOURCE.arguments(cls, values, not_in_file=_NOT_IN_FILE)
        if "site" not in kwargs:
            raise ConfigError("hub settings: site is required")
        if crosscheck is not None:
            kwargs["crosscheck"] = crosscheck
        return cls(data_dir=Path(data_dir), **kwargs)

    def to_toml(self) -> str:
        """The ``[hub]`` table for hub.toml (site, name and the settings that differ)."""
        lines = ["[hub]"]
        # Defaults, those that depend on the hub's level included.
        defaults = HubConfig(data_dir=self.data_dir, site=self.site)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _NOT_IN_FILE:
                continue
            if f.name not in ("site", "name") and value == getattr(defaults, f.name):
                continue
            lines.append(f"{f.name} = {toml_value(value)}")
        lines.extend(_crosscheck_toml(self.crosscheck.to_table()))
        return "\n".join(lines) + "\n"


def _crosscheck_toml(table: Mapping[str, Any]) -> list[str]:
    """The ``[crosscheck]`` table's lines (none when every setting is the default)."""
    if not table:
        return []
    lines = ["", "[crosscheck]"]
    lines.extend(f"{k} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, Mapping))
    for name, sub in table.items():
        if isinstance(sub, Mapping):
            lines.extend(["", f"[crosscheck.{name}]"])
            lines.extend(f"{k} = {toml_value(tuple(v))}" for k, v in sub.items())
    return lines
