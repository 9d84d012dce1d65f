"""Names and values as the console's pages show them (the request's language).

:func:`page_names` gives every console template ``show(field, value)`` (a
canonical value with the schema's labels: 男性, 是/否, lists joined), ``label(field)``,
``place(code)`` (a division code with its name when the table knows it),
``when(moment)`` (the server's local time to the minute) and ``can(permission)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub.console.pages.common import allowed, context, translator
from node.web.display import category_names, field_label, show_value
from node.web.kit import render

__all__ = ["page", "page_names"]


def _when(moment: datetime | str | int | None) -> str:
    """A moment to the minute in the server's time zone (an int is milliseconds since 1970)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment / 1000, UTC)
    elif isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def page_names(request: web.Request) -> dict[str, Any]:
    """The console's helpers for templates."""
    ctx = context(request)
    tr = translator(request)
    schema, divisions = ctx.schema, ctx.divisions

    def place(code: str | None) -> str:
        if not code:
            return ""
        site = code.split("-", 1)[0].split("/", 1)[0]
        # Towns are not in the table: name their county.
        name = divisions.name(site[:6]) if site[:6].isascii() and site[:6].isdigit() else None
        return f"{code}（{name}）" if name else code

    def categories(value: object) -> str:
        keys = value if isinstance(value, list | tuple) else () if value is None else (value,)
        return category_names(schema, [str(k) for k in keys], tr)

    return {
        "show": lambda key, value: show_value(schema, key, value, tr),
        "label": lambda key: field_label(schema, key, tr),
        "place": place,
        "categories": categories,
        "when": _when,
        "can": lambda name: allowed(request, name),
        "hub_site": ctx.site,
        "hub_name": ctx.config.name,
    }


def page(
    request: web.Request,
    template: str,
    names: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """Render a console page with the kit's names, the console's helpers and ``names``."""
    everything = page_names(request)
    if names:
        everything.update(names)
    return render(request, template, everything, status=status)
