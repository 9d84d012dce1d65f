"""A node process for the crash and full-disk tests: ``python -m tests.node.core.crash_worker
DATA_DIR ACTION [ARG...]`` opens the node and does one thing.

Actions: ``authorise LOGIN PASSWORD``, ``import FILE...``, ``sync`` (to the parent at
``$MUSTER_NODE_PARENT_URL``). With ``--fsize BYTES`` the
process may not write any file beyond that size (``RLIMIT_FSIZE``; SIGXFSZ is ignored so
the write fails with EFBIG instead of killing the process), a real OS failure. With
``MUSTER_PAUSE_AT`` set, the node stops at that point until the test kills it.

Prints one JSON line: ``{"ok": true, ...}`` or ``{"ok": false, "error": <class>,
"message": <message>}`` and exits 0 or 1.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from crypto.errors import MusterError
from node.services import NodeServices

PASSPHRASE = b"node passphrase for tests"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def main(argv: list[str]) -> int:
    if argv[0] == "--fsize":
        limit = int(argv[1])
        argv = argv[2:]
    else:
        limit = 0
    data_dir, action, *args = argv
    services = NodeServices.open(Path(data_dir), PASSPHRASE, now=lambda: NOW)
    if limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    out: dict[str, object]
    try:
        if action == "authorise":
            result = services.authorise(args[0], args[1])
            out = {"ok": True, "batches": len(result.batches)}
        elif action == "sync":
            synced = services.sync_now()
            out = {"ok": True, "uploaded": synced.uploaded, "acknowledged": synced.acknowledged}
        elif action == "import":
            report = services.import_files([Path(a) for a in args])
            out = {
                "ok": True,
                "outcomes": [i.outcome for i in report.items],
                "messages": [i.message for i in report.items],
            }
        else:
            raise SystemExit(f"unknown action {action}")
    except MusterError as exc:
        out = {"ok": False, "error": type(exc).__name__, "message": exc.message}
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
