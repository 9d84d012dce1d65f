"""Server-rendered pages: the Jinja2 environment and :func:`render`.

Templates are looked up in the app's package first and then the kit's, so an
app can replace any kit template (``kit/login.html``) by shipping its own.
Autoescaping is on for every template and undefined names are errors. Every
page gets, besides its own context:

- ``t(key, **params)`` and ``tr`` (the request's :class:`~node.web.kit.i18n.Translator`),
  ``lang`` and ``languages`` (each other language with its switch URL);
- ``principal`` (or ``None``); ``csrf_token`` and ``csrf_field()`` for forms;
- ``home_url`` and ``idle_timeout_s`` (for the automatic logout in kit.js);
- ``url(name, query=None, **parts)`` for named routes, ``static(path)`` and
  ``kit_static(path)`` for files;
- ``notice``: the catalog key of a one-line confirmation carried by the
  redirect after a form (``?notice=saved`` → ``notice.saved``), if it exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

import jinja2
from aiohttp import web
from markupsafe import Markup
from yarl import URL

from node.web.kit.appkeys import CONFIG, CSRF_TOKEN, HOME_ROUTE, PRINCIPAL, TEMPLATES, TRANSLATOR
from node.web.kit.i18n import ENDONYMS, LOCALES

__all__ = [
    "APP_STATIC_ROUTE",
    "KIT_STATIC_ROUTE",
    "make_environment",
    "page_context",
    "render",
    "route_url",
    "safe_next",
]

KIT_STATIC_ROUTE: Final = "kit_static"
APP_STATIC_ROUTE: Final = "static"
_NOTICE_PREFIX: Final = "notice."
#: ``Markup.format`` escapes the token it is given.
_CSRF_INPUT: Final = Markup('<input type="hidden" name="csrf_token" value="{}">')


def make_environment(packages: Sequence[str]) -> jinja2.Environment:
    """Return the environment for templates in ``<package>/templates``, the last package first.

    ``packages`` is in catalog order (the kit first, then the app), so the app's
    templates win over the kit's of the same name.
    """
    loader = jinja2.ChoiceLoader(
        [jinja2.PackageLoader(package, "templates") for package in reversed(packages)]
    )
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def route_url(
    request: web.Request, name: str, query: Mapping[str, Any] | None = None, **parts: object
) -> str:
    """Return the path of the named route, with ``parts`` filled and ``query`` appended."""
    url: URL = request.app.router[name].url_for(**{k: str(v) for k, v in parts.items()})
    if query:
        url = url.with_query({k: str(v) for k, v in query.items() if v is not None})
    return str(url)


def safe_next(target: str | None, fallback: str) -> str:
    """Return ``target`` if it is a path on this site, else ``fallback`` (no open redirects)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
    ):
        return fallback
    return target


def _languages(request: web.Request, current: str) -> list[dict[str, str]]:
    here = quote(str(request.rel_url), safe="/?=&%:+,;@-._~")
    return [
        {
            "code": code,
            "name": ENDONYMS[code],
            "url": route_url(request, "kit_lang", code=code, query={"next": here}),
        }
        for code in LOCALES
        if code != current
    ]


def page_context(request: web.Request) -> dict[str, Any]:
    """Return the names every page gets (see the module docstring)."""
    translator = request[TRANSLATOR]
    notice_key = _NOTICE_PREFIX + request.query.get("notice", "")
    csrf = request.get(CSRF_TOKEN, "")
    return {
        "t": translator,
        "tr": translator,
        "lang": translator.locale,
        "languages": _languages(request, translator.locale),
        "principal": request.get(PRINCIPAL),
        "csrf_token": csrf,
        "csrf_field": lambda: _CSRF_INPUT.format(csrf),
        "home_url": route_url(request, request.config_dict[HOME_ROUTE]),
        "idle_timeout_s": request.config_dict[CONFIG].idle_timeout_s,
        "url": lambda name, query=None, **parts: route_url(request, name, query, **parts),
        "static": lambda path: route_url(request, APP_STATIC_ROUTE, filename=path),
        "kit_static": lambda path: route_url(request, KIT_STATIC_ROUTE, filename=path),
        "notice": notice_key if translator.has(notice_key) else None,
        "request_path": request.path,
    }


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """Render ``template`` with the page names and ``context`` into an HTML response."""
    environment = request.config_dict[TEMPLATES]
    names = page_context(request)
    if context:
        names.update(context)
    body = environment.get_template(template).render(names)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
