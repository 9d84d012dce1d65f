"""A record state as one storage row: ``values`` and ``versions``, plain JSON.

Layout (docs/merge.md §4)::

    values   = {field: current value, ...}          lists for lists, "_status" included
    versions = {"v": [hlc, op_id],                   the record version (absent if none)
                "o": [[hlc, op_id], ...],            every head version, each once
                "f": {field: i                       one head, o[i], nothing covered
                         | [[i, ...], [value, ...], [op_id, ...]]}}
                                                     heads winner first, the values of
                                                     the heads after the winner, covered

A create's fields all share one head, so a new record's versions hold one ``o``
entry and a small integer per field. Fields are written in sorted order and ``o``
in order of first use, so equal states give equal rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crypto.errors import UsageError
from protocol.merge._reg import EMPTY, Reg, Version
from protocol.ops import Value

__all__ = ["row_to_state", "state_to_row"]


def state_to_row(
    values: Mapping[str, Value], regs: Mapping[str, Reg], version: Version | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Encode a state's parts as ``(values, versions)``."""
    # Fields in sorted order, so that equal states give equal rows (and digests).
    names = sorted(regs)
    # Inline rather than through _plain: this runs for every field of every record a
    # merge writes, and the call cost more than the conversion.
    out_values = {
        name: list(v) if type(v) is tuple else v for name in names for v in [values[name]]
    }
    shared = _shared_head(regs)
    if shared is None:
        return out_values, _versions(names, regs, version)
    # Every field's spec is that head's position, 0: what _versions gives, without a
    # step per field. fromkeys of a dict (the fields, sorted) reuses its hashes.
    versions: dict[str, Any] = {"o": [[shared[0], shared[1]]], "f": dict.fromkeys(out_values, 0)}
    if version is not None:
        versions["v"] = [version[0], version[1]]
    return out_values, versions


def _shared_head(regs: Mapping[str, Reg]) -> Version | None:
    """The one head of every field, if all fields hold one equal register with one
    head and nothing covered (a new record's create, and each record no later op
    touched); else None."""
    if not regs:
        return None
    # list.count compares by identity first, so the register a create shares is
    # counted in C; an equal register that is not shared encodes the same way, so
    # counting it too changes nothing.
    found = list(regs.values())
    first = found[0]
    if len(first.heads) != 1 or first.covered or found.count(first) != len(found):
        return None
    return first.heads[0]


def _versions(names: list[str], regs: Mapping[str, Reg], version: Version | None) -> dict[str, Any]:
    """The ``versions`` of a state with any registers (``names``: its fields, sorted)."""
    index: dict[Version, int] = {}
    ops: list[list[str]] = []
    encoded: dict[int, Any] = {}  # by id(reg): a create's fields share one register
    fields: dict[str, Any] = {}
    for name in names:
        reg = regs[name]
        spec = encoded.get(id(reg))
        if spec is None:
            positions = []
            for head in reg.heads:
                position = index.get(head)
                if position is None:
                    position = index[head] = len(ops)
                    ops.append([head[0], head[1]])
                positions.append(position)
            if len(positions) == 1 and not reg.covered:
                spec = positions[0]
            else:
                spec = [positions, [_plain(v) for v in reg.others], sorted(reg.covered)]
            encoded[id(reg)] = spec
        fields[name] = spec
    versions: dict[str, Any] = {"o": ops, "f": fields}
    if version is not None:
        versions["v"] = [version[0], version[1]]
    return versions


def row_to_state(
    values: Mapping[str, Any], versions: Mapping[str, Any]
) -> tuple[dict[str, Reg], dict[str, Value], Version | None]:
    """Decode ``(values, versions)`` into registers, values and the record version.

    Raises:
        UsageError: the row is not in the layout :func:`state_to_row` writes.
    """
    if not isinstance(values, Mapping) or not isinstance(versions, Mapping):
        raise UsageError("record row: expected two mappings, values and versions")
    ops = versions.get("o")
    fields = versions.get("f")
    if not isinstance(ops, list) or not isinstance(fields, Mapping):
        raise UsageError("record row versions: expected 'o' (a list) and 'f' (a mapping)")
    heads = tuple(_version(item, "o") for item in ops)
    raw_version = versions.get("v")
    version = None if raw_version is None else _version(raw_version, "v")
    if set(fields) != set(values):
        raise UsageError("record row: expected the same fields in values and versions")
    shared: dict[int, Reg] = {}
    regs: dict[str, Reg] = {}
    for name, spec in fields.items():
        if type(spec) is int:
            reg = shared.get(spec)
            if reg is None:
                reg = shared[spec] = Reg((_head(heads, spec),), (), EMPTY)
        elif isinstance(spec, list) and len(spec) == 3:
            positions, others, covered = spec
            if not isinstance(positions, list) or not positions:
                raise UsageError(f"record row field {name}: expected a list of heads")
            if not isinstance(others, list) or len(others) != len(positions) - 1:
                raise UsageError(f"record row field {name}: expected a value per losing head")
            if not isinstance(covered, list) or not all(isinstance(c, str) for c in covered):
                raise UsageError(f"record row field {name}: expected covered op ids")
            reg = Reg(
                tuple(_head(heads, p) for p in positions),
                tuple(_canonical(v) for v in others),
                frozenset(covered),
            )
        else:
            raise UsageError(f"record row field {name}: expected a head index or a register")
        regs[name] = reg
    return regs, {name: _canonical(value) for name, value in values.items()}, version


def _plain(value: Value) -> Any:
    return list(value) if type(value) is tuple else value


def _canonical(value: Any) -> Value:
    if type(value) is list:
        return tuple(value)
    result: Value = value
    return result


def _version(item: object, where: str) -> Version:
    if (
        not isinstance(item, list | tuple)
        or len(item) != 2
        or not isinstance(item[0], str)
        or not isinstance(item[1], str)
    ):
        raise UsageError(f"record row versions {where}: expected [hlc, op id] pairs")
    return (item[0], item[1])


def _head(heads: tuple[Version, ...], position: object) -> Version:
    if type(position) is not int or not 0 <= position < len(heads):
        raise UsageError(f"record row: head index outside 0..{len(heads) - 1}")
    return heads[position]
