"""The serial shell: moves bytes to and from a port opened by URL, nothing more.

``serial.serial_for_url`` accepts a device path (``/dev/ttyUSB0``), a pty path
or any pyserial URL (``loop://``), so tests and the demo run the same code as a
collection point. Framing, deadlines and retries live in
:mod:`node.collector.link`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from typing import Protocol

import serial

from node.collector.errors import CollectorConfigError, DeviceGoneError, DeviceTimeoutError

__all__ = ["READ_SLICE", "SerialTransport", "Transport"]

try:
    import termios
except ImportError:  # pragma: no cover - not a POSIX system
    _TERMIOS_ERRORS: tuple[type[Exception], ...] = ()
else:
    # pyserial lets termios.error (not an OSError) escape from tcdrain and tcsetattr.
    _TERMIOS_ERRORS = (termios.error,)
#: What pyserial raises when the device is gone or the port cannot be used.
_PORT_ERRORS = (serial.SerialException, OSError, *_TERMIOS_ERRORS)

#: The longest one blocking read may take, so deadlines are kept to within this.
READ_SLICE = 0.02
#: A write that cannot drain in this time means the other end stopped reading.
_WRITE_TIMEOUT = 2.0


class Transport(Protocol):
    """What the link needs from a byte pipe to the module."""

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        ...  # pragma: no cover

    def open(self, baudrate: int) -> None:
        """Open the port at ``baudrate`` (8N1, no flow control)."""
        ...  # pragma: no cover

    def close(self) -> None:
        """Close the port; closing a closed port does nothing."""
        ...  # pragma: no cover

    def set_baudrate(self, baudrate: int) -> None:
        """Change the host side's speed."""
        ...  # pragma: no cover

    def write(self, data: bytes) -> None:
        """Send ``data`` completely."""
        ...  # pragma: no cover

    def read(self, timeout: float) -> bytes:
        """Return the bytes that arrive within ``timeout`` seconds (at least one, or none)."""
        ...  # pragma: no cover

    def discard_input(self) -> None:
        """Drop bytes received but not read yet."""
        ...  # pragma: no cover


class SerialTransport:
    """A :class:`Transport` over pyserial.

    Every pyserial or OS failure becomes a :class:`DeviceGoneError` (the port
    vanished or cannot be opened) or a :class:`DeviceTimeoutError` (a write did
    not drain); the port is closed first, so a later ``open`` starts clean.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._port: serial.SerialBase | None = None

    @property
    def url(self) -> str:
        """The port URL this transport opens."""
        return self._url

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        return self._port is not None

    def open(self, baudrate: int) -> None:
        """Open the port at ``baudrate``.

        Raises:
            CollectorConfigError: the URL names no known pyserial scheme.
            DeviceGoneError: the device is not there or cannot be opened.
        """
        self.close()
        try:
            port = serial.serial_for_url(
                self._url,
                baudrate=baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=READ_SLICE,
                write_timeout=_WRITE_TIMEOUT,
            )
        except ValueError as exc:
            raise CollectorConfigError(
                f"port URL: expected a device path or a pyserial URL ({exc})", setting="port_url"
            ) from exc
        except _PORT_ERRORS as exc:
            raise DeviceGoneError(
                f"cannot open the reader's port {self._url}: {_reason(exc)}", port=self._url
            ) from exc
        self._port = port

    def close(self) -> None:
        """Close the port; closing a closed port does nothing."""
        port, self._port = self._port, None
        if port is not None:
            # A vanished device cannot be closed cleanly; nothing is left to release.
            with contextlib.suppress(*_PORT_ERRORS):
                port.close()

    def set_baudrate(self, baudrate: int) -> None:
        """Change the host side's speed.

        Raises:
            DeviceGoneError: the port is closed or vanished.
        """
        port = self._require()
        try:
            port.baudrate = baudrate
        except _PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def write(self, data: bytes) -> None:
        """Send ``data`` completely.

        Raises:
            DeviceTimeoutError: the bytes did not drain in time.
            DeviceGoneError: the port is closed or vanished.
        """
        port = self._require()
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeoutError(
                f"write of {len(data)} bytes did not drain within {_WRITE_TIMEOUT} s",
                port=self._url,
            ) from exc
        except _PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def read(self, timeout: float) -> bytes:
        """Return the bytes that arrive within ``timeout`` seconds (at least one, or none).

        Raises:
            DeviceGoneError: the port is closed or vanished.
        """
        port = self._require()
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            while True:
                chunk: bytes = port.read(1)
                if chunk:
                    waiting = port.in_waiting
                    return chunk + port.read(waiting) if waiting else chunk
                if time.monotonic() >= deadline:
                    return b""
        except _PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def discard_input(self) -> None:
        """Drop bytes received but not read yet.

        Raises:
            DeviceGoneError: the port is closed or vanished.
        """
        port = self._require()
        try:
            port.reset_input_buffer()
        except _PORT_ERRORS as exc:
            raise self._gone(exc) from exc

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise DeviceGoneError("the reader's port is not open", port=self._url)
        return self._port

    def _gone(self, exc: BaseException) -> DeviceGoneError:
        self.close()
        return DeviceGoneError(f"the reader's port failed: {_reason(exc)}", port=self._url)


def _reason(exc: BaseException) -> str:
    """The operating system's reason for a port failure, in a few words.

    pyserial wraps it: a ``SerialException`` whose text repeats the port's name and the
    error number, with the ``OSError`` (or ``termios.error``) it came from as its context.
    """
    for error in (exc, exc.__cause__, exc.__context__):
        number = _errno_of(error)
        if number == errno.ENOTTY:  # opened, but the terminal settings cannot be applied
            return "not a serial device"
        if number is not None:
            return os.strerror(number)
    return str(exc) or type(exc).__name__


def _errno_of(error: BaseException | None) -> int | None:
    if isinstance(error, OSError):
        return error.errno if isinstance(error.errno, int) else None
    if isinstance(error, _TERMIOS_ERRORS) and error.args and isinstance(error.args[0], int):
        return error.args[0]
    return None
