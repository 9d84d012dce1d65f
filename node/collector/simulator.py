"""A simulated ID-card reader on a real pseudo-terminal.

:class:`Simulator` opens a pty, answers the SAM protocol on its master side
through :class:`~node.collector.simmodel.ModuleModel`, and misbehaves on
command (:mod:`node.collector.faults`). The driver opens the slave path as it
would open ``/dev/ttyUSB0``, so tests exercise the real serial code, termios
included: the simulator reads the speed the driver set on the slave and answers
with noise when it is not the module's speed, as a real UART would.

It runs in a thread (tests: ``with Simulator(cards=...) as sim: ...``) or as a
process (``muster collector simulate``). With ``link_path`` it keeps a symlink
to the current pty, which survives a simulated unplug and replug the way a
``/dev/serial/by-id/...`` path does; without one, a replugged device comes back
at a new ``/dev/pts/N``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import select
import termios
import threading
import time
import tty
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from crypto.errors import StateError
from node.collector.commands import Command
from node.collector.errors import ChecksumError
from node.collector.faults import Fault, FaultKind, FaultScript, noise, shape_reply
from node.collector.frames import Frame, FrameDecoder, Request, Response
from node.collector.simcards import SimCard
from node.collector.simmodel import ModuleModel

__all__ = ["Simulator"]

_SPEEDS = {
    termios.B115200: 115200,
    termios.B57600: 57600,
    termios.B38400: 38400,
    termios.B19200: 19200,
    termios.B9600: 9600,
}
_TICK = 0.01
_SW_CHECKSUM, _SW_LENGTH = 0x10, 0x11


class Simulator:
    """A simulated reader answering on a pty, in a background thread.

    Args:
        cards: cards that :meth:`place` can put on the antenna by index.
        model: the module's state; a default module at 115200 baud otherwise.
        faults: scripted misbehaviour, applied in order.
        link_path: keep a symlink here that always points at the current pty.
        seed: seeds the noise, so a failing test replays exactly.
        on_event: called (from the simulator's thread) with "unplugged" and
            "plugged in at PATH" events.
    """

    def __init__(
        self,
        *,
        cards: Sequence[SimCard] = (),
        model: ModuleModel | None = None,
        faults: Sequence[Fault] = (),
        link_path: str | Path | None = None,
        seed: int = 0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model or ModuleModel()
        self.cards = tuple(cards)
        self._power_on_baud = self.model.baudrate
        self._script = FaultScript(tuple(faults))
        self._link = None if link_path is None else Path(link_path)
        self._rng = random.Random(seed)  # noqa: S311 (line noise, not secrets)
        self._on_event = on_event
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._pts_path: str | None = None
        self._replug_at: float | None = None
        self._spare: tuple[int, int] | None = None
        self._decoder = FrameDecoder()
        self._outbox: deque[tuple[float, bytes]] = deque()
        #: Commands received, in order (None for an unknown command), for tests.
        self.requests: list[Command | None] = []

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def path(self) -> str:
        """The path a driver should open: the link when there is one, else the pty."""
        if self._link is not None:
            return str(self._link)
        if self._pts_path is None:
            raise StateError("the simulator is not plugged in")
        return self._pts_path

    @property
    def pts_path(self) -> str | None:
        """The current pty slave path, or None while unplugged."""
        return self._pts_path

    def start(self) -> str:
        """Open the pty and start answering; return :attr:`path`."""
        if self._thread is not None:
            raise StateError("the simulator is already running")
        self._plug(initial=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="muster-reader-sim", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        """Stop answering, close the pty and remove the link."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._close_pty()
            for fd in self._spare or ():
                os.close(fd)
            self._spare = None

    def place(self, card: SimCard | int = 0) -> None:
        """Put a card (or ``cards[index]``) on the antenna."""
        with self._lock:
            self.model.place(self.cards[card] if isinstance(card, int) else card)

    def lift(self) -> None:
        """Take the card off the antenna."""
        with self._lock:
            self.model.lift()

    def add_fault(self, fault: Fault) -> None:
        """Arm one more fault."""
        with self._lock:
            self._script.add(fault)

    def unplug(self, *, replug_after: float | None = None) -> None:
        """Close the pty now; reopen it after ``replug_after`` seconds (None: never)."""
        with self._lock:
            self._unplug(replug_after)

    def replug(self) -> None:
        """Reopen the pty now (a new ``/dev/pts/N``; the link follows it)."""
        with self._lock:
            if self._master is None:
                self._plug()

    def _emit(self, event: str) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _plug(self, *, initial: bool = False) -> None:
        master, slave = self._spare or os.openpty()
        self._spare = None
        tty.setraw(slave)  # no echo or line editing before the driver sets the port up
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._master, self._slave = master, slave
        self._pts_path = os.ttyname(slave)
        self._replug_at = None
        self.model.baudrate = self._power_on_baud
        if self._link is not None:
            staging = self._link.with_name(self._link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            staging.symlink_to(self._pts_path)
            staging.replace(self._link)
        if not initial:
            self._emit(f"plugged in at {self._pts_path}")

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._pts_path = None
        self._outbox.clear()
        self._decoder.reset()
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()

    def _unplug(self, replug_after: float | None) -> None:
        if self._spare is None:
            # Take the next pty before freeing this one, so the device comes back
            # at a new /dev/pts/N, as a re-plugged USB reader often does.
            self._spare = os.openpty()
        self._close_pty()
        self._replug_at = None if replug_after is None else time.monotonic() + replug_after
        self._emit("unplugged")

    def _host_baud(self) -> int:
        if self._slave is None:
            return 0
        return _SPEEDS.get(termios.tcgetattr(self._slave)[5], 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                master = self._master
                due = self._replug_at
                if master is None and due is not None and time.monotonic() >= due:
                    self._plug()
                    master = self._master
            if master is None:
                time.sleep(_TICK)
                continue
            readable, _, _ = select.select([master], [], [], _TICK)
            with self._lock:
                if self._master != master:
                    continue
                if readable:
                    self._receive(master)
                self._send_due()

    def _receive(self, master: int) -> None:
        try:
            data = os.read(master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        for event in self._decoder.feed(data):
            if self._master is None:
                return  # unplugged while answering an earlier frame
            if isinstance(event, Frame):
                self._answer(Request.from_frame(event))
            else:
                sw3 = _SW_CHECKSUM if isinstance(event.error, ChecksumError) else _SW_LENGTH
                self._queue(((0.0, Response(sw3=sw3).to_bytes()),))

    def _answer(self, request: Request) -> None:
        command = Command.identify(request)
        self.requests.append(command)
        if self._host_baud() != self.model.baudrate:
            # At the wrong speed the module hears garbage and the host hears garbage back.
            self._queue(((0.0, noise(self._rng, self._rng.randrange(2, 16))),))
            return
        fault = self._script.take(command)
        kind = None if fault is None else fault.kind
        if kind is FaultKind.UNPLUG:
            assert fault is not None
            self._unplug(fault.seconds or None)
            return
        if kind is FaultKind.STATUS:
            assert fault is not None
            response = Response(sw3=fault.sw3)
        else:
            response = self.model.handle(request)
        if kind is FaultKind.LIFT_AFTER_SELECT:
            self.model.lift()
        self._queue(shape_reply(response.to_bytes(), fault, self._rng))

    def _queue(self, pieces: tuple[tuple[float, bytes], ...]) -> None:
        due = time.monotonic()
        for pause, chunk in pieces:
            due += pause
            self._outbox.append((due, chunk))

    def _send_due(self) -> None:
        now = time.monotonic()
        while self._outbox and self._outbox[0][0] <= now and self._master is not None:
            due, chunk = self._outbox.popleft()
            try:
                sent = os.write(self._master, chunk)
            except BlockingIOError:
                sent = 0
            except OSError:
                return
            if sent < len(chunk):
                # The pty buffer is full: keep the rest for the next round.
                self._outbox.appendleft((due, chunk[sent:]))
                return
