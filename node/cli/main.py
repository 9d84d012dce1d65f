"""Entry point of the ``muster`` command.

Subcommands are registered by small modules, each exposing
``register(subparsers) -> None`` that adds its parsers and sets ``func`` on them.
``func(args) -> int`` returns the exit code. The hub's commands are discovered
through the ``muster.cli`` entry-point group, so the node never imports the hub.

Every :class:`~crypto.errors.MusterError` becomes one line on stderr and a
non-zero exit code; a traceback is shown only with ``MUSTER_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from crypto.errors import InputError, MusterError, StateError, UsageError

__all__ = ["build_parser", "main"]

#: Modules of this package that register subcommands, in help order.
_NODE_COMMAND_MODULES: tuple[str, ...] = (
    "node.cli.keys",
    "node.cli.bundle",
    "node.cli.node_commands",
    "node.collector.cli",
)

#: Exit codes: 1 bad input from outside, 2 usage (argparse uses 2 too), 3 state.
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_STATE = 3
EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="muster",
        description="Muster: signed, encrypted data federation for the veterans-affairs census.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _NODE_COMMAND_MODULES:
        _register_module(name, sub)
    for ep in sorted(entry_points(group="muster.cli"), key=lambda e: e.name):
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
        register = ep.load()
        register(sub)
    return parser


def _register_module(name: str, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # A command module that is not written yet must not break the others.
        if exc.name == name:
            return
        raise
    module.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except MusterError as exc:
        if os.environ.get("MUSTER_DEBUG") == "1":
            raise
        print(f"muster: error: {exc.message}", file=sys.stderr)
        hint = exc.diagnostics()
        if hint:
            print(f"muster: hint: {hint}", file=sys.stderr)
        if isinstance(exc, UsageError):
            return EXIT_USAGE
        if isinstance(exc, StateError):
            return EXIT_STATE
        if isinstance(exc, InputError):
            return EXIT_INPUT
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("muster: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `muster bundle open ... | head` closes the pipe early; that is not an error.
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
