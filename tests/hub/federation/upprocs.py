"""A province of real hub processes for the federation's process test: set up with the
real commands (``muster root init|certify``, ``muster hub init|enroll|enroll-parent``),
each hub served by ``muster hub run`` on its own port, scheduled jobs on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hub.config import HubConfig
from hub.context import HubContext
from hub.runtime import load_anchor
from hub.store import Store
from node.keyfiles import KeyDir
from tests.ports import server_port

ROOT = Path(__file__).resolve().parents[3]
PASSPHRASE = b"process tree passphrase"
#: How long a hub may take to answer after `muster hub run` starts.
_START_SECONDS = 180.0


@dataclass
class Procs:
    """The working directory, the passphrase file and the running hub processes."""

    base: Path
    running: dict[str, tuple[subprocess.Popen[str], str]] = field(default_factory=dict)
    logs: list[IO[str]] = field(default_factory=list)

    @property
    def passphrase(self) -> Path:
        path = self.base / "passphrase"
        if not path.exists():
            path.write_bytes(PASSPHRASE + b"\n")
        return path

    def env(self, **settings: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MUSTER_PASSPHRASE_FILE": str(self.passphrase),
            **settings,
        }

    def muster(self, *args: str, check: bool = True) -> str:
        """Run ``muster ARGS`` (the node's entry point, hub commands included)."""
        done = subprocess.run(
            [sys.executable, "-m", "node.cli.main", *args],
            cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"muster {' '.join(args)}: {done.returncode}\n{done.stderr}")
        return done.stdout

    def start(self, name: str, **settings: str) -> str:
        """``muster hub run`` for the hub in ``base/name``; return its URL once it answers."""
        port = server_port()
        env = self.env(MUSTER_HUB_LISTEN_PORT=str(port), **settings)
        log = (self.base / f"{name}.log").open("w")
        self.logs.append(log)
        command = ["hub", "run", "--config", str(self.base / name)]
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli.main", *command],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        self.running[name] = (process, url)  # stop() ends it whatever happens next
        # Until it answers, not a fixed number of tries: 300 refused connections took
        # some 30 s, less than a hub's start (imports, unlocking its keys, migrations)
        # can take on a loaded machine, and the loop then went on as if it had started.
        deadline = time.monotonic() + _START_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"hub {name} stopped: {(self.base / f'{name}.log').read_text()}"
                )
            try:
                with urllib.request.urlopen(url + "/api/v1/status", timeout=5):
                    return url
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"hub {name} did not answer within {_START_SECONDS:.0f} s: "
                        f"{(self.base / f'{name}.log').read_text()}"
                    ) from None
                time.sleep(0.1)

    def context(self, name: str) -> HubContext:
        """The test's own view of a hub's store, with its keys (to approve enrollments)."""
        config = HubConfig.load(self.base / name)
        return HubContext(
            config=config,
            store=Store(config.database_url),
            keys=KeyDir(config.keys_dir).unlock(PASSPHRASE),
            anchor=load_anchor(config),
        )

    def stop(self) -> None:
        for process, _url in self.running.values():
            process.terminate()
        for process, _url in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def settings_for(parent_url: str, **extra: Any) -> dict[str, str]:
    """Environment overrides of a child hub: its parent and fast jobs."""
    return {
        "MUSTER_HUB_PARENT_URL": parent_url,
        "MUSTER_HUB_PACKAGE_INTERVAL_SECONDS": "1",
        "MUSTER_HUB_SYNC_INTERVAL_SECONDS": "1",
        "MUSTER_HUB_PACKAGE_AUTHORISATION": "auto",
        "MUSTER_HUB_COOKIE_SECURE": "false",
        **{k: str(v) for k, v in extra.items()},
    }
