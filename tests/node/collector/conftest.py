"""Fixtures for the collector tests: simulated cards, a pty simulator, a reader on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.collector.config import CollectorConfig
from node.collector.reader import Reader
from node.collector.simcards import SimCard, generate_cards
from node.collector.simulator import Simulator
from node.collector.textblock import CardType

#: The date the simulated world lives on; readers check expiry against it.
TODAY = date(2025, 6, 1)
#: Every wait in these tests ends by this many seconds, so none can hang.
WAIT = 8.0


@pytest.fixture
def cards() -> tuple[SimCard, ...]:
    """One card of each type, in CardType order."""
    return generate_cards(3, seed=7, today=TODAY, card_types=tuple(CardType))


@pytest.fixture
def start_simulator(tmp_path: Path) -> Iterator[Callable[..., Simulator]]:
    """Start simulators that stop when the test ends; ``link=False`` for a bare pty."""
    running: list[Simulator] = []

    def start(*, link: bool = True, **kwargs: Any) -> Simulator:
        link_path = tmp_path / f"ttySIM{len(running)}" if link else None
        simulator = Simulator(link_path=link_path, **kwargs)
        simulator.start()
        running.append(simulator)
        return simulator

    yield start
    for simulator in running:
        simulator.stop()


@pytest.fixture
def open_reader() -> Iterator[Callable[..., Reader]]:
    """Make readers on a simulator's path that close when the test ends."""
    readers: list[Reader] = []

    def make(simulator: Simulator, **settings: Any) -> Reader:
        reader = Reader(CollectorConfig(port_url=simulator.path, **settings), today=lambda: TODAY)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()
