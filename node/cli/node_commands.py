"""The ``muster node`` command group.

The node engineer adds the node's own commands here; the collector driver
contributes ``read-card`` through :func:`node.collector.cli.add_read_card`.
"""

from __future__ import annotations

import argparse

from node.collector.cli import add_read_card

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``node`` command group."""
    group = sub.add_parser("node", help="run and manage this node")
    commands = group.add_subparsers(dest="node_command", metavar="COMMAND")
    commands.required = True
    add_read_card(commands)
