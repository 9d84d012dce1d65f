"""``muster collector simulate|probe`` and ``muster node read-card``.

``register`` adds the ``collector`` group; ``add_read_card`` adds ``read-card``
to the ``node`` group that :mod:`node.cli.node_commands` owns. Output never
carries card data except the JSON that ``read-card`` is asked to print.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from serial.tools import list_ports

from node.collector.commands import BAUD_RATES
from node.collector.config import DEFAULT_BAUDRATE, CollectorConfig
from node.collector.errors import CollectorConfigError, CollectorError
from node.collector.faults import Fault
from node.collector.reader import Reader
from node.collector.simcards import SimCard, generate_cards, load_cards
from node.collector.simmodel import ModuleModel, Rearm
from node.collector.simulator import Simulator
from node.collector.textblock import CardType

__all__ = ["add_read_card", "register"]

if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
#: Environment variable naming the reader's port when --port is not given.
PORT_ENV = "MUSTER_READER_PORT"


def register(sub: _SubParsers) -> None:
    """Add the ``collector`` command group (``simulate``, ``probe``)."""
    group = sub.add_parser("collector", help="ID-card reader: simulator and port probe")
    commands = group.add_subparsers(dest="collector_command", metavar="COMMAND")
    commands.required = True

    sim = commands.add_parser(
        "simulate", help="answer like a reader on a pseudo-terminal; print its path"
    )
    source = sim.add_mutually_exclusive_group()
    source.add_argument("--cards", type=Path, help="JSON file with a list of cards")
    source.add_argument("--generate", type=int, default=3, help="generate N cards (default 3)")
    sim.add_argument("--seed", type=int, default=0, help="seed of generated cards and noise")
    sim.add_argument(
        "--card-type",
        action="append",
        choices=[t.value for t in CardType],
        help="kinds of generated cards, in turn (default resident)",
    )
    sim.add_argument("--expired", action="store_true", help="generate expired cards")
    sim.add_argument("--module-baud", type=int, default=DEFAULT_BAUDRATE, choices=BAUD_RATES)
    sim.add_argument("--rearm", choices=[r.value for r in Rearm], default=Rearm.ABSENT_UNTIL_LIFTED)
    sim.add_argument("--link", type=Path, help="keep a symlink here to the current pty")
    sim.add_argument("--dwell", type=float, default=8.0, help="seconds each card stays on")
    sim.add_argument("--gap", type=float, default=2.0, help="seconds between cards")
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:COMMAND[:TIMES]][:key=value]",
        help="misbehave, e.g. bad_checksum:read_base:1 (see docs/collector.md)",
    )
    sim.add_argument("--duration", type=float, default=0.0, help="stop after S s (0: never)")
    sim.set_defaults(func=_simulate)

    probe = commands.add_parser("probe", help="list serial ports that answer SAM status")
    probe.add_argument("urls", nargs="*", metavar="URL", help="more ports or pyserial URLs")
    probe.add_argument("--baud", type=int, default=DEFAULT_BAUDRATE, choices=BAUD_RATES)
    probe.add_argument(
        "--no-scan", action="store_true", help="probe only the URLs given, not the system's ports"
    )
    probe.set_defaults(func=_probe)


def add_read_card(node_sub: _SubParsers) -> None:
    """Add ``read-card`` to the ``node`` command group."""
    read = node_sub.add_parser("read-card", help="read one ID card and print it as JSON")
    read.add_argument(
        "--port", default=os.environ.get(PORT_ENV), help=f"reader port or URL (or ${PORT_ENV})"
    )
    read.add_argument("--baud", type=int, default=DEFAULT_BAUDRATE, choices=BAUD_RATES)
    read.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a card")
    read.add_argument("--no-photo", action="store_true", help="leave the photo out")
    read.add_argument("--photo-decoder", help="dotted path of a WLT photo decoder")
    read.set_defaults(func=_read_card)


def _read_card(args: argparse.Namespace) -> int:
    if not args.port:
        raise CollectorConfigError(f"read-card: expected --port or ${PORT_ENV}")
    config = CollectorConfig(
        port_url=args.port, baudrate=args.baud, photo_decoder=args.photo_decoder
    )
    with Reader(config) as reader:
        # A port that cannot be opened (no such device, no permission) fails here at once:
        # wait_for_card rides out a reader unplugged while in use, not one never there.
        reader.open()
        card = reader.wait_for_card(args.timeout)
    document = card.to_json_dict(include_photo=not args.no_photo)
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def _probe(args: argparse.Namespace) -> int:
    scanned = [] if args.no_scan else [port.device for port in list_ports.comports()]
    urls = scanned + list(args.urls)
    answered = 0
    for url in dict.fromkeys(urls):
        config = CollectorConfig(port_url=url, baudrate=args.baud, retries=0)
        try:
            with Reader(config) as reader:
                sam_id = reader.open()
                print(f"{url}\t{reader.baudrate}\tSAM {sam_id}")
                answered += 1
        except CollectorError as exc:
            print(f"{url}\t-\t{exc.message}")
    if not urls:
        print("no serial ports found")
    return 0 if answered else 1


def _cards(args: argparse.Namespace) -> tuple[SimCard, ...]:
    if args.cards is not None:
        return load_cards(args.cards)
    types = tuple(CardType(t) for t in args.card_type or [CardType.RESIDENT.value])
    return generate_cards(
        args.generate, seed=args.seed, today=date.today(), card_types=types, expired=args.expired
    )


def _simulate(args: argparse.Namespace) -> int:
    link: Path | None = args.link
    if link is not None and (link.is_dir() or not link.parent.is_dir()):
        raise CollectorConfigError(
            f"--link {link}: expected a new file name in an existing directory"
        )
    cards = _cards(args)
    faults = [Fault.parse(spec) for spec in args.fault]
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    model = ModuleModel(baudrate=args.module_baud, rearm=Rearm(args.rearm))
    simulator = Simulator(
        cards=cards,
        model=model,
        faults=faults,
        link_path=args.link,
        seed=args.seed,
        on_event=lambda event: print(event, flush=True),
    )
    with simulator:
        print(simulator.pts_path, flush=True)
        if args.link is not None:
            print(f"link {args.link}", flush=True)
        _cycle_cards(simulator, len(cards), args, stop)
    return 0


def _cycle_cards(
    simulator: Simulator, count: int, args: argparse.Namespace, stop: threading.Event
) -> None:
    """Place the cards in turn until stopped; print only indexes and kinds."""
    if args.duration > 0:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True
        timer.start()
    index = 0
    while count and not stop.is_set():
        simulator.place(index)
        print(
            f"card {index + 1}/{count} placed ({simulator.cards[index].text.card_type})", flush=True
        )
        if stop.wait(args.dwell):
            break
        simulator.lift()
        print("card lifted", flush=True)
        index = (index + 1) % count
        stop.wait(args.gap)
    stop.wait()
