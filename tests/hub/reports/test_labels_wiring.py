"""Every kind of finding the cross-check makes has a name in the reports, in both languages
(an unknown kind would show as its key)."""

from __future__ import annotations

import pytest

from hub.crosscheck import FindingKind
from node.reports.labels import LANGS, text


@pytest.mark.parametrize("kind", list(FindingKind))
def test_the_reports_name_every_kind_of_finding(kind: FindingKind) -> None:
    for lang in LANGS:
        assert text(f"finding.{kind.value}", lang) != kind.value
