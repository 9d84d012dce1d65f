"""The commands from a shell: a simulator process, ``read-card`` against it, ``probe``."""

from __future__ import annotations

import errno
import json
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import NoReturn

import pytest
import serial

from node.cli.main import EXIT_INPUT, EXIT_USAGE, main
from node.collector.simcards import generate_cards
from node.collector.simulator import Simulator
from node.collector.textblock import CardType

MUSTER = [sys.executable, "-m", "node.cli.main"]
#: Every subprocess wait ends by this many seconds: a hang guard, far above what a start
#: (its imports) and a read take on a loaded machine (over 60 s has been seen).
LIMIT = 300


def first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], LIMIT)
    assert ready, "the simulator printed no path"
    return process.stdout.readline().strip()


@pytest.fixture
def simulator_process(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*MUSTER, "collector", "simulate", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=LIMIT)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_read_card_prints_a_simulated_card_as_json_end_to_end(
    simulator_process: Callable[..., subprocess.Popen[str]],
) -> None:
    # The first card stays on for the whole test: with a shorter dwell, a read-card that
    # took that long to start (its imports, on a loaded machine) read the second card.
    simulator = simulator_process("--generate", "2", "--seed", "9", "--dwell", str(LIMIT))
    path = first_line(simulator)
    assert path.startswith("/dev/pts/")
    result = subprocess.run(
        [*MUSTER, "node", "read-card", "--port", path, "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    expected = generate_cards(2, seed=9, today=date.today())[0]
    assert document["card_type"] == "resident"
    assert document["fields"]["id_number"] == expected.text.id_number
    assert document["fields"]["name"] == expected.text.name
    assert document["record"]["birth_date"] == expected.text.birth_date.isoformat()
    assert document["checks"]["passed"] is True
    assert document["sam_id"] == "05.01-20240101-0001234567-0987654321"
    assert len(document["photo"]["wlt_base64"]) == 1368  # 1024 bytes in base64


def test_the_simulator_process_stops_cleanly_and_removes_its_link(
    simulator_process: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    link = tmp_path / "reader"
    simulator = simulator_process("--generate", "1", "--link", str(link))
    first_line(simulator)
    assert link.is_symlink()
    simulator.terminate()
    assert simulator.wait(timeout=LIMIT) == 0
    assert not link.exists()


def test_a_bad_fault_spec_stops_the_simulator_with_a_usage_error(
    simulator_process: Callable[..., subprocess.Popen[str]],
) -> None:
    simulator = simulator_process("--fault", "melt")
    assert simulator.wait(timeout=LIMIT) == EXIT_USAGE
    assert simulator.stderr is not None
    assert "muster: error: fault 'melt'" in simulator.stderr.read()


def test_read_card_without_a_port_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MUSTER_READER_PORT", raising=False)
    assert main(["node", "read-card"]) == EXIT_USAGE
    assert "read-card: expected --port or $MUSTER_READER_PORT" in capsys.readouterr().err


def test_read_card_leaves_the_photo_out_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    cards = generate_cards(
        1, seed=1, today=date.today(), card_types=(CardType.HMT_RESIDENCE_PERMIT,)
    )
    with Simulator(cards=cards) as simulator:
        simulator.place(0)
        code = main(["node", "read-card", "--port", simulator.path, "--no-photo", "--timeout", "8"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["card_type"] == "hmt_residence_permit"
    assert "wlt_base64" not in document["photo"]


def test_read_card_on_a_missing_port_exits_with_the_input_error_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["node", "read-card", "--port", str(tmp_path / "nothing"), "--timeout", "0.2"])
    assert code == EXIT_INPUT
    err = capsys.readouterr().err
    assert "muster: error: cannot open the reader's port" in err
    assert "muster: hint: plug the reader back in" in err


def test_read_card_on_a_port_it_may_not_open_says_so_at_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def refuse(url: str, **_settings: object) -> NoReturn:
        opened.append(url)
        # what pyserial raises for a device node the user may not open
        error = PermissionError(errno.EACCES, "Permission denied")
        message = f"could not open port {url}: {error}"
        raise serial.SerialException(errno.EACCES, message) from error

    monkeypatch.setattr(serial, "serial_for_url", refuse)
    code = main(["node", "read-card", "--port", "/dev/ttyUSB0", "--timeout", "30"])
    assert opened == ["/dev/ttyUSB0"]  # tried once: no polling until the timeout
    assert code == EXIT_INPUT
    err = capsys.readouterr().err
    assert "muster: error: cannot open the reader's port /dev/ttyUSB0: Permission denied\n" in err


def test_probe_lists_the_ports_that_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with Simulator() as simulator:
        path = simulator.path
        code = main(["collector", "probe", "--no-scan", path, str(tmp_path / "none")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == f"{path}\t115200\tSAM 05.01-20240101-0001234567-0987654321"
    assert lines[1].startswith(f"{tmp_path / 'none'}\t-\tcannot open the reader's port")
