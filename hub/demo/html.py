"""Reading the node's pages the way a browser does: forms, links, and a few figures.

Pure (stdlib ``html.parser``). :func:`parse_forms` returns each form's *successful
controls*: what a browser sends when the form is submitted without touching it
(text and hidden inputs with their values, checked boxes, selected options,
textareas; no buttons, no files, nothing disabled). The demo changes what a person
would change and submits the rest as it came, so an edit carries the field versions
the page was drawn with, exactly as a collector's browser would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final

__all__ = ["HtmlForm", "parse_forms", "parse_links", "text_of", "text_of_class"]

_SKIPPED_INPUTS: Final = frozenset({"submit", "button", "image", "reset", "file"})
#: Elements without an end tag.
_VOID: Final = frozenset(
    {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HtmlForm:
    """A form of a page: where it goes and what it would send."""

    action: str
    method: str
    fields: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)

    def getall(self, name: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.fields if k == name)

    def with_values(self, values: Mapping[str, str | Sequence[str]]) -> tuple[tuple[str, str], ...]:
        """The fields with those named in ``values`` replaced (a list sets a multi-choice)."""
        kept = [(k, v) for k, v in self.fields if k not in values]
        for name, value in values.items():
            if isinstance(value, str):
                kept.append((name, value))
            else:
                kept.extend((name, item) for item in value)
        return tuple(kept)


@dataclass(slots=True)
class _Select:
    name: str
    multiple: bool
    options: list[tuple[str, bool]] = field(default_factory=list)
    pending: str | None = None
    pending_selected: bool = False
    text: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _OpenForm:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self.links: list[str] = []
        self._form: _OpenForm | None = None
        self._select: _Select | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and "href" in attr:
            self.links.append(attr["href"])
        elif tag == "form":
            self._form = _OpenForm(
                action=attr.get("action", ""), method=attr.get("method", "get").lower()
            )
        elif self._form is None or "disabled" in attr:
            return
        elif tag == "input":
            self._input(attr)
        elif tag == "select" and attr.get("name"):
            self._select = _Select(name=attr["name"], multiple="multiple" in attr)
        elif tag == "option" and self._select is not None:
            self._end_option()
            self._select.pending = attr.get("value")
            self._select.pending_selected = "selected" in attr
            self._select.text = []
        elif tag == "textarea" and attr.get("name"):
            self._textarea = (attr["name"], [])

    def _input(self, attr: dict[str, str]) -> None:
        assert self._form is not None
        kind = attr.get("type", "text").lower()
        name = attr.get("name")
        if not name or kind in _SKIPPED_INPUTS:
            return
        if kind in ("checkbox", "radio"):
            if "checked" in attr:
                self._form.fields.append((name, attr.get("value", "on")))
            return
        self._form.fields.append((name, attr.get("value", "")))

    def _end_option(self) -> None:
        select = self._select
        if select is None or (select.pending is None and not select.text):
            return
        value = select.pending if select.pending is not None else "".join(select.text).strip()
        select.options.append((value, select.pending_selected))
        select.pending, select.pending_selected, select.text = None, False, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        elif self._select is not None:
            self._select.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._end_option()
        elif tag == "select" and self._select is not None:
            self._end_option()
            self._close_select(self._select)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, parts = self._textarea
            # A browser drops the one newline that may follow <textarea>.
            self._form.fields.append((name, "".join(parts).removeprefix("\n")))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            form = self._form
            self.forms.append(
                HtmlForm(action=form.action, method=form.method, fields=tuple(form.fields))
            )
            self._form = None

    def _close_select(self, select: _Select) -> None:
        assert self._form is not None
        chosen = [value for value, selected in select.options if selected]
        if not chosen and not select.multiple and select.options:
            chosen = [select.options[0][0]]  # a single select shows (and sends) its first
        if not select.multiple:
            chosen = chosen[-1:]
        self._form.fields.extend((select.name, value) for value in chosen)


def _parsed(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser


def parse_forms(html: str) -> tuple[HtmlForm, ...]:
    """Every form of a page with its successful controls, in page order."""
    return tuple(_parsed(html).forms)


def parse_links(html: str) -> tuple[str, ...]:
    """Every link target (``<a href>``) of a page, in page order."""
    return tuple(_parsed(html).links)


class _TextOf(HTMLParser):
    def __init__(self, attribute: str, value: str) -> None:
        super().__init__(convert_charrefs=True)
        self._attribute, self._value = attribute, value
        self._depth = 0
        self.found: list[str] | None = None

    def _matches(self, attrs: list[tuple[str, str | None]]) -> bool:
        given = dict(attrs).get(self._attribute) or ""
        return given == self._value or (self._attribute == "class" and self._value in given.split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if self._depth:
            self._depth += 1
        elif self.found is None and self._matches(attrs):
            self._depth, self.found = 1, []

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and self.found is not None:
            self.found.append(data)


def text_of(html: str, ident: str) -> str | None:
    """The text inside the element with ``id=ident`` (None when there is none)."""
    return _text(html, _TextOf("id", ident))


def text_of_class(html: str, name: str) -> str | None:
    """The text inside the first element of class ``name`` (None when there is none)."""
    return _text(html, _TextOf("class", name))


def _text(html: str, parser: _TextOf) -> str | None:
    parser.feed(html)
    parser.close()
    return None if parser.found is None else " ".join("".join(parser.found).split())
