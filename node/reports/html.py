"""The summary report as a printable HTML page, with its charts.

:func:`render_html` returns the page; it loads its stylesheet and scripts from
``asset_base`` (the hub serves :data:`STATIC_DIR` there). :func:`write_html`
writes a self-contained folder for offline use: the Chinese page, the English
page, and ``assets/`` with ECharts (vendored, never a CDN), the chart script
and the stylesheet. The page has no inline script or style, so it runs under
the web kit's Content-Security-Policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Final

import jinja2

from node.fsutil import write_atomic
from node.reports.charts import SCALE, report_charts
from node.reports.errors import ReportWriteError
from node.reports.labels import LANGS, Lang, check_lang, pick, text
from node.reports.report import Report

__all__ = [
    "ASSETS",
    "STATIC_DIR",
    "TEMPLATE_PACKAGE",
    "PageHelpers",
    "environment",
    "page_context",
    "render_html",
    "write_html",
]

#: The folder of static files: the vendored ECharts, the chart script, the stylesheet.
STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
#: The files of :data:`STATIC_DIR` a page loads.
ASSETS: Final = ("vendor/echarts.min.js", "reports/charts.js", "reports/report.css")
#: The package whose ``templates/reports/`` holds the page and the partials (for the web kit).
TEMPLATE_PACKAGE: Final = "node.reports"
_ASSET_DIR: Final = "assets"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates (autoescaping, strict names)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@dataclass(frozen=True, slots=True)
class PageHelpers:
    """Formatting for templates, in one language: ``h.t(key)``, ``h.pct(x)``, ``h.num(n)`` …"""

    lang: Lang
    deadline: date | None = None

    def t(self, key: str) -> str:
        """The text of a label key."""
        return text(key, self.lang)

    def pick(self, zh: str, en: str) -> str:
        """Chinese or English."""
        return pick((zh, en), self.lang)

    def num(self, value: float | None) -> str:
        """A count with thousands separators; ``—`` for none."""
        if value is None:
            return text("unknown", self.lang)
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"

    def pct(self, value: float | None) -> str:
        """A ratio as a percentage with one decimal; ``—`` for none."""
        return text("unknown", self.lang) if value is None else f"{value * 100:.1f}%"

    def rate(self, value: float | None) -> str:
        """People per day, two decimals."""
        return text("unknown", self.lang) if value is None else f"{value:.2f}"

    def day(self, value: date | None) -> str:
        """A day as ``YYYY-MM-DD``."""
        return text("unknown", self.lang) if value is None else value.isoformat()

    def late(self, value: date | None) -> bool:
        """Whether a projected day falls after the collection deadline."""
        return value is not None and self.deadline is not None and value > self.deadline

    def yes_no(self, value: bool | None) -> str:
        """是/否 (yes/no), or ``—``."""
        return text("unknown" if value is None else ("yes" if value else "no"), self.lang)

    def heat_class(self, share: float | None) -> str:
        """The CSS class of a heat-table cell (the chart colours' five steps)."""
        if share is None:
            return "heat-none"
        return f"heat-{min(len(SCALE) - 1, max(0, int(share * len(SCALE))))}"


def render_html(
    report: Report,
    *,
    lang: str = "zh-CN",
    asset_base: str = f"{_ASSET_DIR}/",
    other_href: str | None = None,
) -> str:
    """Return the report page in ``lang``.

    Args:
        report: the report.
        lang: ``zh-CN`` (default) or ``en``.
        asset_base: the URL prefix the page loads :data:`ASSETS` from.
        other_href: a link to the page in the other language, if there is one.

    Raises:
        ReportModelError: ``lang`` is not a report language.
    """
    context = page_context(report, lang)
    template = environment().get_template("reports/report.html")
    return template.render(
        context,
        other_lang=next(code for code in LANGS if code != context["lang"]),
        asset_base=asset_base,
        other_href=other_href,
    )


def page_context(report: Report, lang: str = "zh-CN") -> dict[str, object]:
    """Return what the partials need: ``report``, ``lang``, ``h`` and ``charts`` (key → spec).

    The console passes these to ``reports/_dashboard.html`` (or the chart and
    table partials) in its own pages.

    Raises:
        ReportModelError: ``lang`` is not a report language.
    """
    language = check_lang(lang)
    return {
        "report": report,
        "lang": language,
        "h": PageHelpers(language, report.collection_deadline),
        "charts": {spec.key: spec for spec in report_charts(report, language)},
    }


def write_html(report: Report, directory: Path, *, stem: str | None = None) -> Path:
    """Write the Chinese and English pages and their assets into ``directory``.

    The pages are ``<stem>.html`` (Chinese) and ``<stem>.en.html``, each
    linking to the other; ``stem`` defaults to ``report-<site>-<period>``.
    Every file is written whole or not at all.

    Returns:
        The path of the Chinese page.

    Raises:
        ReportWriteError: ``directory`` or a file in it cannot be written.
    """
    directory = Path(directory)
    stem = stem or f"report-{report.site_code}-{report.period}".replace("..", "_")
    names = {"zh-CN": f"{stem}.html", "en": f"{stem}.en.html"}
    try:
        for asset in ASSETS:
            target = directory / _ASSET_DIR / asset
            target.parent.mkdir(parents=True, exist_ok=True)
            data = (STATIC_DIR / asset).read_bytes()
            if not target.exists() or target.read_bytes() != data:
                write_atomic(target, data, mode=0o644)
        for lang, name in names.items():
            other = names["en" if lang == "zh-CN" else "zh-CN"]
            page = render_html(report, lang=lang, other_href=other)
            write_atomic(directory / name, page.encode("utf-8"), mode=0o644)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ReportWriteError(
            f"report page: cannot write into the output folder ({reason})",
            errno=exc.errno,
        ) from exc
    return directory / names["zh-CN"]
