"""The demo's people: every hub's administrator, and each node's collectors and approver."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

__all__ = ["HUB_ADMIN", "NODE_PEOPLE", "SITE_ADMIN", "Person", "approver_of", "people_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A demo login: who, with which role, and their display name."""

    login: str
    name: str
    role: str


#: The administrator account of every hub.
HUB_ADMIN: Final = Person(login="admin", name="系统管理员", role="admin")
#: The site administrator every node is made with (``muster node init --admin``).
SITE_ADMIN: Final = Person(login="admin", name="站点管理员", role="site_admin")
#: The accounts of every node besides its site administrator.
NODE_PEOPLE: Final = (
    Person(login="zhang.wei", name="张伟", role="collector"),
    Person(login="liu.yang", name="刘洋", role="collector"),
    Person(login="li.na", name="李娜", role="approver"),
)


def approver_of(node_id: str) -> Person:
    """The approver of a node: one person per machine (their certificate names the site,
    so a second machine's approver has a login of their own)."""
    base = next(p for p in NODE_PEOPLE if p.role == "approver")
    machine = node_id.rsplit("-", 1)[1]
    return base if machine == "01" else dataclasses.replace(base, login=f"{base.login}{machine}")


def people_of(node_id: str) -> tuple[Person, ...]:
    """A node's collectors and approver."""
    return tuple(p if p.role != "approver" else approver_of(node_id) for p in NODE_PEOPLE)
