"""The console's catalogs: both languages, every key the templates and handlers use."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from hub.accounts import Role
from hub.console import CONSOLE_PACKAGE
from hub.console.inbox import INBOX_STATES
from hub.console.pages.common import Notice
from hub.console.sitesview import REVOCATION_REASONS
from node.web.kit import LOCALES, Catalogs
from protocol.bundle import BundleKind
from protocol.trust import Role as CertificateRole
from tests.node.web.test_kit_i18n import template_keys

PACKAGES = ("node.web.kit", CONSOLE_PACKAGE)


def catalog(locale: str) -> dict[str, str]:
    text = resources.files(CONSOLE_PACKAGE).joinpath("locales", f"{locale}.json")
    loaded: dict[str, str] = json.loads(text.read_text("utf-8"))
    return loaded


def test_the_catalogs_have_the_same_keys_and_no_empty_texts() -> None:
    chinese, english = catalog("zh-CN"), catalog("en")
    assert set(chinese) == set(english)
    assert all(v.strip() for v in (*chinese.values(), *english.values()))


def test_every_template_key_is_in_both_catalogs() -> None:
    catalogs = Catalogs.load(PACKAGES)
    used = template_keys(CONSOLE_PACKAGE)
    assert len(used) > 100, "the scan found too few t() calls"
    for locale in LOCALES:
        assert used - set(catalogs.messages[locale]) == set(), locale


@pytest.mark.parametrize(
    "keys",
    [
        [f"state.{s}" for s in INBOX_STATES],
        [f"role.{r.value}" for r in Role] + [f"role_help.{r.value}" for r in Role],
        [f"revocation.{r}" for r in REVOCATION_REASONS],
        [f"kind.{k.value}" for k in BundleKind],
        [f"certrole.{r.value}" for r in CertificateRole],
        [f"notice.{n.value}" for n in Notice],
        ["value.yes", "value.no", "value.empty", "value.files"],
    ],
    ids=["states", "roles", "revocation", "kinds", "certificate-roles", "notices", "values"],
)
def test_keys_built_at_run_time_are_in_both_catalogs(keys: list[str]) -> None:
    assert keys
    for locale in LOCALES:
        assert set(keys) - set(catalog(locale)) == set(), locale
