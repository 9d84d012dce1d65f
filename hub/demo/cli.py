"""``muster demo``: the command (registered by the hub's CLI, ``hub.cli.register``).

- ``muster demo [--records N] [--dir DIR] [--seed N] [--keep]``: the province on loopback;
- ``muster demo --stop [--dir DIR]``: stop a province left running by ``--keep``;
- ``muster demo --cores [--records N] [--dir DIR]``: the batch walked through the pure
  cores in one process (no network, no database), checked with the stock minisign and
  age tools when they are installed.

Imports are local to the handler: ``muster --help`` must not load the whole demo.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    demo = sub.add_parser(
        "demo", help="build a small province on loopback, run the scenario, print a summary"
    )
    demo.add_argument(
        "--records", type=int, default=8, metavar="N", help="records each town collects (3-500)"
    )
    demo.add_argument(
        "--dir", type=Path, default=Path("demo-run"), help="the demo's directory (default demo-run)"
    )
    demo.add_argument("--seed", type=int, default=2026, help="seed of the generated people")
    what = demo.add_mutually_exclusive_group()
    what.add_argument(
        "--keep", action="store_true", help="leave the province running and print its logins"
    )
    what.add_argument("--stop", action="store_true", help="stop a province left by --keep")
    what.add_argument(
        "--cores", action="store_true", help="walk one batch through the pure cores instead"
    )
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hub.demo.layout import DemoLayout  # noqa: PLC0415 - loaded only to run the demo

    layout = DemoLayout(args.dir)
    if args.stop:
        from hub.demo.processes import stop_recorded  # noqa: PLC0415

        stopped = stop_recorded(layout)
        print(f"stopped {stopped} demo processes in {layout.root}")
        return 0
    if args.cores:
        from hub.demo import cores  # noqa: PLC0415

        layout.prepare()
        return cores.run(
            argparse.Namespace(records=args.records, dir=layout.root / "cores", keep=False)
        )
    from hub.demo.run import run_demo  # noqa: PLC0415
    from hub.demo.world import DemoOptions  # noqa: PLC0415

    options = DemoOptions(per_town=args.records, seed=args.seed, keep=args.keep)
    return asyncio.run(run_demo(layout, options))
