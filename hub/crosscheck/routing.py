"""Routing findings to the office of the person's household registration, as ``problem`` entries.

Pure. Each finding carries the division it belongs to (the record's
``hukou_division_code``, else the register row's); a :class:`SiteDirectory`
(supplied by the hub from its sites table) names the most specific site whose
jurisdiction contains it and the node ids that serve that site. Findings are
grouped per site, so the hub builds one ``problems`` bundle per site and sends
it down through the hubs in between. Findings no site serves are returned as
*unrouted* for the administrator.

The body of a ``problem`` entry is defined here (docs/crosscheck.md §6) and read
back by :func:`read_problem_body`, which a node can use as it is: it needs
nothing from the hub.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from crypto.errors import MusterError
from hub.crosscheck.authority import Authority
from hub.crosscheck.cells import Value
from hub.crosscheck.errors import ProblemBodyError
from hub.crosscheck.fields import SourceKind
from hub.crosscheck.findings import Finding, FindingKind
from protocol.divisions import contains, jurisdiction_prefix
from protocol.entries import Problem
from protocol.errors import DivisionCodeError
from protocol.schema import Schema

__all__ = [
    "PROBLEM_FORMAT",
    "RoutedFindings",
    "Routing",
    "SiteDirectory",
    "SiteRoute",
    "StaticSiteDirectory",
    "problem_body",
    "read_problem_body",
    "route_findings",
    "to_problem",
]

#: Version of the problem body format (the ``v`` key).
PROBLEM_FORMAT: Final = 1
_MAX_TEXT: Final = 500
_MAX_ITEMS: Final = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteRoute:
    """A site (by division code) and the node ids that serve it."""

    site_code: str
    node_ids: tuple[str, ...]


class SiteDirectory(Protocol):
    """Which site, and which of its nodes, serves a division (the hub's sites table)."""

    def route(self, division_code: str) -> SiteRoute | None:
        """The most specific site whose jurisdiction contains ``division_code``, if any."""


class StaticSiteDirectory:
    """A :class:`SiteDirectory` from a fixed table: site code → node ids.

    Raises:
        DivisionCodeError: a site code is malformed.
    """

    def __init__(self, sites: Mapping[str, Sequence[str]]) -> None:
        # Most specific first, so a town site wins over its county's.
        self._sites = sorted(
            ((jurisdiction_prefix(code), code, tuple(nodes)) for code, nodes in sites.items()),
            key=lambda item: -len(item[0]),
        )

    def route(self, division_code: str) -> SiteRoute | None:
        for _prefix, code, nodes in self._sites:
            try:
                if contains(code, division_code):
                    return SiteRoute(site_code=code, node_ids=nodes)
            except DivisionCodeError:
                return None
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutedFindings:
    """The findings for one site, in the order they were found."""

    route: SiteRoute
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """Findings grouped by site (in site-code order), and those no site serves."""

    groups: tuple[RoutedFindings, ...]
    unrouted: tuple[Finding, ...]


def route_findings(findings: Iterable[Finding], directory: SiteDirectory) -> Routing:
    """Group findings by the site serving their division."""
    groups: dict[str, tuple[SiteRoute, list[Finding]]] = {}
    unrouted = []
    for finding in findings:
        route = directory.route(finding.division_code) if finding.division_code else None
        if route is None:
            unrouted.append(finding)
            continue
        groups.setdefault(route.site_code, (route, []))[1].append(finding)
    return Routing(
        groups=tuple(
            RoutedFindings(route=route, findings=tuple(found))
            for _code, (route, found) in sorted(groups.items())
        ),
        unrouted=tuple(unrouted),
    )


_MESSAGES: Final[dict[FindingKind, tuple[str, str]]] = {
    FindingKind.VALUE_MISMATCH: ("“{source}”登记的{label_zh}与采集信息不一致",
                                 "{source} records a different {label_en}"),
    FindingKind.DECEASED: ("“{source}”登记此人已死亡，采集信息为健在",
                           "{source} records this person as deceased; the record says living"),
    FindingKind.BENEFIT_ONE_SIDE: ("{label_zh}：“{source}”与采集信息只有一方登记",
                                   "{label_en}: recorded by one side only "
                                   "({source} or the record)"),
    FindingKind.INVALID_ID_NUMBER: ("“{source}”中此人的公民身份号码无效",
                                    "the ID number in {source} is invalid"),
    FindingKind.DUPLICATE_ID_NUMBER: ("“{source}”中同一公民身份号码出现在多行",
                                      "one ID number appears on several rows of {source}"),
    FindingKind.MISSING: ("“{source}”中有此人，但尚未采集",
                          "{source} lists this person, who has not been collected"),
}  # fmt: skip


def _labels(field: str | None, schema: Schema) -> tuple[str, str]:
    if field is None or not schema.has_field(field):
        return "", ""
    spec = schema.field(field)
    return spec.label_zh, spec.label_en.lower()


def _wire(value: Value | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def problem_body(finding: Finding, *, schema: Schema | None = None) -> dict[str, Any]:
    """The body of the ``problem`` entry for a finding (docs/crosscheck.md §6)."""
    label_zh, label_en = _labels(finding.field, schema or Schema.default())
    zh, en = _MESSAGES[finding.kind]
    names = {"source": finding.source, "label_zh": label_zh, "label_en": label_en}
    return {
        "v": PROBLEM_FORMAT,
        "id": finding.finding_id,
        "kind": finding.kind.value,
        "source": finding.source,
        "source_kind": finding.source_kind.value,
        "dataset": finding.dataset_id,
        "row": finding.row,
        "record": finding.record_id,
        "field": finding.field,
        "register_value": _wire(finding.register_value),
        "record_value": _wire(finding.record_value),
        "authority": finding.authority.value,
        "proposed": _wire(finding.proposed_value),
        "division": finding.division_code,
        "person": {key: _wire(value) for key, value in finding.person},
        "details": {key: _wire(value) for key, value in finding.details},
        # Flat keys: the node's to-do list reads message_zh / message_en as they are.
        "message_key": f"crosscheck.{finding.kind.value}",
        "message_zh": zh.format(**names),
        "message_en": en.format(**names),
    }


def to_problem(finding: Finding, *, schema: Schema | None = None) -> Problem:
    """The typed ``problem`` entry for a finding, ready for a ``problems`` bundle."""
    return Problem(body=problem_body(finding, schema=schema))


_KEYS: Final = frozenset(
    {"v", "id", "kind", "source", "source_kind", "dataset", "row", "record", "field",
     "register_value", "record_value", "authority", "proposed", "division", "person",
     "details", "message_key", "message_zh", "message_en"}
)  # fmt: skip


def _opt_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body[key]
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise ProblemBodyError(f"problem body: {key} must be text of 1..{_MAX_TEXT} characters",
                               key=key)  # fmt: skip
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = _opt_text(body, key)
    if value is None:
        raise ProblemBodyError(f"problem body: {key} is required", key=key)
    return value


def _short(item: object) -> bool:
    return isinstance(item, str) and len(item) <= _MAX_TEXT


def _value(value: object, key: str) -> Value | None:
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            raise ProblemBodyError(f"problem body: {key} is longer than {_MAX_TEXT}", key=key)
        return value
    if isinstance(value, list) and len(value) <= _MAX_ITEMS and all(_short(item) for item in value):
        return tuple(value)
    raise ProblemBodyError(f"problem body: {key} must be a value (text, number, "
                           "true/false or a list of text)", key=key)  # fmt: skip


def _pairs(body: Mapping[str, Any], key: str) -> tuple[tuple[str, Value], ...]:
    value = body[key]
    if not isinstance(value, dict) or len(value) > _MAX_ITEMS:
        raise ProblemBodyError(f"problem body: {key} must be an object", key=key)
    pairs = []
    for name, item in sorted(value.items()):
        if not isinstance(name, str) or len(name) > 64:
            raise ProblemBodyError(f"problem body: {key} has a bad key", key=key)
        found = _value(item, key)
        if found is None:
            raise ProblemBodyError(f"problem body: {key}.{name} is empty", key=key)
        pairs.append((name, found))
    return tuple(pairs)


def read_problem_body(body: object) -> Finding:
    """Read a ``problem`` entry's body back into the finding it describes.

    Raises:
        ProblemBodyError: the body is not a problem of this format, or breaks a rule.
    """
    if not isinstance(body, dict) or set(body) != _KEYS:
        raise ProblemBodyError(f"problem body: expected an object with keys "
                               f"{', '.join(sorted(_KEYS))}")  # fmt: skip
    if body["v"] != PROBLEM_FORMAT:
        raise ProblemBodyError(f"problem body: expected format {PROBLEM_FORMAT}, "
                               f"saw {str(body['v'])[:10]!r}")  # fmt: skip
    row = body["row"]
    if row is not None and (not isinstance(row, int) or isinstance(row, bool) or row < 1):
        raise ProblemBodyError("problem body: row must be a row number or null")
    try:
        return Finding(
            finding_id=_text(body, "id"),
            kind=FindingKind(body["kind"]),
            source=_text(body, "source"),
            source_kind=SourceKind(body["source_kind"]),
            dataset_id=_text(body, "dataset"),
            row=row,
            record_id=_opt_text(body, "record"),
            field=_opt_text(body, "field"),
            register_value=_value(body["register_value"], "register_value"),
            record_value=_value(body["record_value"], "record_value"),
            authority=Authority(body["authority"]),
            proposed_value=_value(body["proposed"], "proposed"),
            division_code=_opt_text(body, "division"),
            person=_pairs(body, "person"),
            details=_pairs(body, "details"),
        )
    except ValueError as exc:
        raise ProblemBodyError(f"problem body: unknown kind, source kind or authority "
                               f"({str(exc)[:80]})") from None  # fmt: skip
    except ProblemBodyError:
        raise
    except MusterError as exc:
        raise ProblemBodyError(f"problem body: {exc.message}") from None
