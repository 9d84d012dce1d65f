"""Collector configuration: defaults, bounds, and loading from a TOML table."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from node.collector.commands import Command
from node.collector.config import CollectorConfig, Timeouts
from node.collector.errors import CollectorConfigError


def test_defaults_follow_the_protocol() -> None:
    config = CollectorConfig(port_url="/dev/ttyUSB0")
    assert (config.baudrate, config.poll_interval, config.photo_decoder) == (115200, 0.3, None)
    assert config.timeouts.for_command(Command.READ_BASE) == 3.5


def test_baud_order_tries_the_configured_speed_first() -> None:
    config = CollectorConfig(port_url="loop://", baudrate=19200)
    assert config.baud_order == (19200, 115200, 57600, 38400, 9600)


def test_without_probing_only_the_configured_speed_is_tried() -> None:
    assert CollectorConfig(port_url="loop://", probe_baud=False).baud_order == (115200,)


def test_timeouts_scale_the_hints_and_overrides_win() -> None:
    timeouts = Timeouts(scale=2.0, overrides=((Command.FIND_CARD, 0.25),))
    assert timeouts.for_command(Command.READ_BASE) == 7.0
    assert timeouts.for_command(Command.FIND_CARD) == 0.25


def test_from_mapping_reads_a_toml_table() -> None:
    config = CollectorConfig.from_mapping(
        {
            "port_url": "/dev/serial/by-id/usb-reader",
            "baudrate": 57600,
            "poll_interval": 0.5,
            "timeouts": {"scale": 1.5, "read_base": 5},
        }
    )
    assert config.baudrate == 57600
    assert config.timeouts.for_command(Command.READ_BASE) == 5.0
    assert config.timeouts.for_command(Command.FIND_CARD) == 0.75


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port_url": ""}, r"^port_url: expected a device path or URL, got none$"),
        ({"port_url": "x", "baudrate": 4800}, r"^baudrate 4800: expected one of"),
        ({"port_url": "x", "poll_interval": 0}, r"^poll_interval 0.0 s: expected 0.05 to 60.0 s$"),
        ({"port_url": "x", "poll_interval": "fast"}, r"^poll_interval: expected a number"),
        ({"port_url": "x", "retries": 9}, r"^retries 9: expected 0 to 5$"),
        ({"port_url": "x", "speed": 1}, r"^collector settings \['speed'\]: expected only"),
        ({"baudrate": 9600}, r"^collector settings: port_url is required$"),
        ({"port_url": "x", "timeouts": {"read": 1}}, r"^timeouts.read: expected 'scale' or"),
        ({"port_url": "x", "timeouts": {"scale": 0}}, r"^timeouts.scale 0.0 s: expected"),
        (
            {"port_url": "x", "timeouts": {"find_card": float("nan")}},
            r"^timeouts.find_card nan s: expected",
        ),
    ],
)
def test_a_setting_that_cannot_work_is_a_config_error(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(CollectorConfigError, match=message):
        CollectorConfig.from_mapping(settings)


def test_every_config_field_is_documented() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "collector.md").read_text(encoding="utf-8")
    for field in fields(CollectorConfig):
        assert f"| `{field.name}` |" in docs, field.name
