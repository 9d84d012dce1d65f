"""Languages: choosing one, switching, and catalogs that cover every key the templates use."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import nodes

from crypto.errors import UsageError
from node.web.kit import LOCALES, Catalogs, negotiate
from node.web.kit.i18n import ENDONYMS
from tests.node.web.conftest import KitStarter

#: Every package with templates and catalogs, in load order.
PACKAGES = ("node.web.kit", "node.web")


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "zh-CN"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-TW,zh;q=0.8,en;q=0.5", "zh-CN"),
        (None, "fr-FR, en;q=0.3", "en"),
        (None, "en;q=0.2, zh;q=0.8", "zh-CN"),
        (None, "fr, de", "zh-CN"),
        (None, "en;q=0", "zh-CN"),
        (None, "*", "zh-CN"),
        ("en", "zh-CN", "en"),
        ("zh-CN", "en", "zh-CN"),
        ("klingon", "en", "en"),
    ],
)
def test_negotiate(cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate(cookie, header, "zh-CN") == expected


@given(cookie=st.none() | st.text(max_size=20), header=st.none() | st.text(max_size=200))
def test_negotiate_always_answers_a_known_language(cookie: str | None, header: str | None) -> None:
    assert negotiate(cookie, header, "zh-CN") in LOCALES


def template_keys(package: str) -> set[str]:
    """The literal keys passed to t() in a package's templates."""
    env = jinja2.Environment()
    keys: set[str] = set()
    root = Path(str(resources.files(package).joinpath("templates")))
    for path in root.rglob("*.html"):
        tree = env.parse(path.read_text("utf-8"))
        for call in tree.find_all(nodes.Call):
            if (
                isinstance(call.node, nodes.Name)
                and call.node.name == "t"
                and call.args
                and isinstance(call.args[0], nodes.Const)
            ):
                keys.add(call.args[0].value)
    return keys


@pytest.mark.parametrize("package", PACKAGES)
def test_every_template_key_is_in_both_catalogs(package: str) -> None:
    catalogs = Catalogs.load(PACKAGES)
    used = template_keys(package)
    assert used, "no t() calls found: the scan is broken"
    for locale in LOCALES:
        assert used - set(catalogs.messages[locale]) == set(), locale


@pytest.mark.parametrize("package", PACKAGES)
def test_the_catalogs_have_the_same_keys_and_no_empty_texts(package: str) -> None:
    loaded = {
        locale: json.loads(
            resources.files(package).joinpath("locales", f"{locale}.json").read_text("utf-8")
        )
        for locale in LOCALES
    }
    assert loaded["zh-CN"].keys() == loaded["en"].keys()
    for texts in loaded.values():
        assert all(text.strip() for text in texts.values())


def test_every_status_the_kit_names_has_a_title() -> None:
    keys = Catalogs.load(PACKAGES).keys()
    for status in (400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 502, 504):
        assert f"error.status.{status}" in keys


def test_a_catalog_missing_a_key_in_one_language_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "halfway"
    (package / "locales").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "locales" / "zh-CN.json").write_text('{"only.zh": "中"}', "utf-8")
    (package / "locales" / "en.json").write_text("{}", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match=r"key 'only\.zh' is not in every language"):
        Catalogs.load(["node.web.kit", "halfway"])


def test_a_translator_fills_placeholders_and_survives_unknown_keys() -> None:
    t = Catalogs.load(PACKAGES).translator("en")
    assert t("login.throttled", seconds=30) == "Too many failed attempts: try again in 30 seconds."
    assert t("no.such.key") == "no.such.key"
    assert t("login.throttled") == "Too many failed attempts: try again in {seconds} seconds."


async def test_the_switch_link_sets_the_cookie_and_returns(kit_client: KitStarter) -> None:
    client = await kit_client()
    page = await client.get("/login")
    body = await page.text()
    assert 'href="/lang/en?next=/login"' in body
    assert ENDONYMS["en"] in body
    answer = await client.get("/lang/en?next=/login", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/login"
    cookie = answer.cookies["muster_session_lang"]
    assert cookie.value == "en"
    assert cookie["samesite"] == "Strict"
    page = await client.get("/login", headers={"Accept-Language": "zh-CN"})
    body = await page.text()
    assert "Log in" in body
    assert 'href="/lang/zh-CN?next=/login"' in body


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
async def test_the_switch_link_does_not_redirect_off_site(
    kit_client: KitStarter, target: str
) -> None:
    client = await kit_client()
    answer = await client.get("/lang/en", params={"next": target}, allow_redirects=False)
    assert answer.headers["Location"] == "/"


async def test_an_unknown_language_is_a_404(kit_client: KitStarter) -> None:
    client = await kit_client()
    answer = await client.get("/lang/fr", allow_redirects=False)
    assert answer.status == 404
