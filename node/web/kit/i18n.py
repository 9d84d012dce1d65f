"""Languages: message catalogs, the ``t()`` helper and choosing a language per request.

Simplified Chinese (``zh-CN``) is the first language and the default; English
(``en``) is the other. Each package that has pages ships
``locales/zh-CN.json`` and ``locales/en.json`` (flat objects, key → text with
``{name}`` placeholders); :meth:`Catalogs.load` merges the kit's with an
app's, the app's winning. Both languages must define the same keys: a catalog
that misses one is refused at start-up, and a test checks that every key a
template uses exists.

Labels of schema fields, choices and categories, and validation messages, come
from the schema itself (``label_zh``/``label_en``, ``message_zh``/``message_en``),
not from the catalogs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Final, Protocol

from crypto.errors import UsageError

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "Catalogs",
    "Translator",
    "negotiate",
]

_log = logging.getLogger("muster.web")

#: The languages every page is available in, the first being the default.
LOCALES: Final = ("zh-CN", "en")
DEFAULT_LOCALE: Final = "zh-CN"
#: What each language is called in itself, for the switch link.
ENDONYMS: Final = MappingProxyType({"zh-CN": "中文", "en": "English"})


class _Labelled(Protocol):
    @property
    def label_zh(self) -> str: ...
    @property
    def label_en(self) -> str: ...


class _Named(Protocol):
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...


class _Message(Protocol):
    @property
    def message_zh(self) -> str: ...
    @property
    def message_en(self) -> str: ...


def _read_catalog(package: str, locale: str) -> dict[str, str]:
    path = resources.files(package).joinpath("locales", f"{locale}.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"catalog {package}/{locale}: expected a JSON object: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise UsageError(f"catalog {package}/{locale}: expected an object of texts")
    return data


@dataclass(frozen=True, slots=True)
class Catalogs:
    """The merged catalogs of every language (read-only)."""

    messages: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, packages: Iterable[str]) -> Catalogs:
        """Merge ``locales/<lang>.json`` of each package, later packages winning.

        Raises:
            UsageError: a catalog is not an object of texts, or a key exists in
                one language and not in the other.
        """
        merged: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES}
        for package in packages:
            for locale in LOCALES:
                merged[locale].update(_read_catalog(package, locale))
        first, *others = LOCALES
        for other in others:
            lacking = sorted(merged[first].keys() ^ merged[other].keys())
            if lacking:
                raise UsageError(
                    f"catalogs: key {lacking[0]!r} is not in every language",
                    key=lacking[0],
                    missing=len(lacking),
                )
        return cls(MappingProxyType({k: MappingProxyType(v) for k, v in merged.items()}))

    def keys(self) -> frozenset[str]:
        """Every key (the same in each language)."""
        return frozenset(self.messages[DEFAULT_LOCALE])

    def translator(self, locale: str) -> Translator:
        """Return the translator for ``locale`` (the default language if unknown)."""
        if locale not in self.messages:
            locale = DEFAULT_LOCALE
        return Translator(locale, self.messages[locale])


class Translator:
    """``t(key, **params)`` for one language, plus the schema's label pickers."""

    __slots__ = ("_messages", "locale")

    def __init__(self, locale: str, messages: Mapping[str, str]) -> None:
        self.locale = locale
        self._messages = messages

    @property
    def chinese(self) -> bool:
        """Whether this is the Chinese translator."""
        return self.locale == "zh-CN"

    def __call__(self, key: str, /, **params: object) -> str:
        """Return the text of ``key`` with ``{name}`` placeholders filled from ``params``.

        An unknown key is returned as it is (and logged), so a page still renders.
        """
        text = self._messages.get(key)
        if text is None:
            _log.warning("catalog key missing: %s (%s)", key, self.locale)
            return key
        if not params:
            return text
        try:
            return text.format_map(params)
        except (KeyError, IndexError, ValueError):
            _log.warning("catalog text of %s does not take the given parameters", key)
            return text

    def has(self, key: str) -> bool:
        """Whether the catalog has ``key``."""
        return key in self._messages

    def label(self, item: _Labelled) -> str:
        """Return a schema field's or choice's label in this language."""
        return item.label_zh if self.chinese else item.label_en

    def name(self, item: _Named) -> str:
        """Return a subject category's name in this language."""
        return item.name_zh if self.chinese else item.name_en

    def message(self, item: _Message) -> str:
        """Return a validation problem's message in this language."""
        return item.message_zh if self.chinese else item.message_en


def _accepted(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, index, tag.strip().lower()))
    return [tag for _q, _i, tag in sorted(ranked)]


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    """Return the language for a request: the cookie's, else ``Accept-Language``'s, else default.

    Any ``zh`` tag (``zh``, ``zh-CN``, ``zh-Hans``, ``zh-TW``) chooses ``zh-CN``:
    it is the only Chinese we have.
    """
    if cookie is not None and cookie in LOCALES:
        return cookie
    for tag in _accepted(accept_language or ""):
        if tag == "*":
            return default
        primary = tag.split("-", 1)[0]
        if primary == "zh":
            return "zh-CN"
        if primary == "en":
            return "en"
    return default
