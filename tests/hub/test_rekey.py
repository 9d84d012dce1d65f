"""``hub rekey`` after a lost key: the old keystore is kept, never overwritten."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import hub.recovery
from crypto.keystore import KDF_INTERACTIVE
from hub.recovery import rekey
from tests.hub.datadir import PASSPHRASE, make_data_dir
from tests.pki import NOW, Pki


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: object = None) -> _FrozenClock:  # type: ignore[override]
        return cls.fromtimestamp(NOW.timestamp(), UTC)


def test_two_rekeys_in_the_same_second_keep_both_old_keystores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.recovery, "datetime", _FrozenClock)
    config = make_data_dir(tmp_path / "hub", Pki.build())
    keystore = config.keys_dir / "keystore.json"
    replaced = [keystore.read_bytes()]
    rekey(config, PASSPHRASE, cost=KDF_INTERACTIVE)
    replaced.append(keystore.read_bytes())
    rekey(config, PASSPHRASE, cost=KDF_INTERACTIVE)
    stamp = NOW.strftime("%Y%m%dT%H%M%SZ")
    kept = {p.name: p.read_bytes() for p in config.keys_dir.glob("lost-*.json")}
    assert kept == {f"lost-{stamp}.json": replaced[0], f"lost-{stamp}-2.json": replaced[1]}
    assert keystore.read_bytes() not in replaced  # a third, new keystore
