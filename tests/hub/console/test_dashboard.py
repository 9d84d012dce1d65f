"""The console's dashboard, settings, report and export pages over a real socket, on the
campaign of tests/hub/reports/storedata.py (figures worked out by hand there)."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from hub.console.app import REPORT_PACKAGES
from hub.context import HubContext
from hub.store.report_models import ExpectedRow, NarrativeRow, PhaseRow
from node.reports import PhaseKind
from node.web.kit import LOCALES, Catalogs
from tests.hub.console.conftest import AsRole, Client
from tests.hub.console.console import PREFIX, audit_actions
from tests.hub.factory import DeltaFactory
from tests.hub.reports.storedata import load_campaign
from tests.node.web.test_kit_i18n import template_keys

DASHBOARD = f"{PREFIX}dashboard"


@pytest.fixture
def campaign(console_hub: HubContext, deltas: DeltaFactory) -> HubContext:
    load_campaign(console_hub, deltas)
    return console_hub


def _row(html: str, code: str) -> list[str]:
    regions = html.split('id="regions"', 1)[1].split("</table>", 1)[0]
    match = re.search(rf'<tr [^>]*data-code="{code}">(.*?)</tr>', regions, re.S)
    assert match is not None, f"no row {code}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def _figures(html: str) -> list[str]:
    block = html.split('<ul class="key-figures">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<span class="value">([^<]*)</span>', block)


async def _get(client: Client, path: str, status: int = 200) -> str:
    answer = await client.get(path)
    text = await answer.text()
    assert answer.status == status, text[:2000]
    return text


async def test_the_dashboard_shows_the_hand_computed_figures(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, _ = await as_role("viewer")
    html = await _get(client, DASHBOARD)
    # expected 14, collected 7 (50 %), completeness, open items 2 (conflict, rejection).
    figures = _figures(html)
    assert figures[:3] == ["14", "7", "50.0%"]
    assert figures[4] == "2"
    assert _row(html, "370102001")[:5] == ["370102001", "370102001", "10", "5", "50.0%"]
    assert _row(html, "370102002")[2:5] == ["4", "2", "50.0%"]
    assert html.count('class="muster-chart muster-chart--') == 6
    assert html.count("data-chart-options=") == 6
    assert "/console/static/reports/vendor/echarts.min.js" in html
    script = await client.get(f"{PREFIX}static/reports/reports/charts.js")
    assert script.status == 200


async def test_a_town_account_sees_its_town_and_nothing_above(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, _ = await as_role("town")
    html = await _get(client, DASHBOARD)
    assert _figures(html)[:3] == ["10", "5", "50.0%"]
    assert 'data-code="370102002"' not in html
    page = await _get(client, f"{DASHBOARD}?region=370102", status=404)
    assert "expected a region inside 370102001" in page


async def test_a_region_below_has_a_link_back_up(as_role: AsRole, campaign: HubContext) -> None:
    client, _ = await as_role("admin")
    html = await _get(client, f"{DASHBOARD}?region=370102002&days=30")
    assert _figures(html)[:2] == ["4", "2"]
    assert 'id="dashboard-up"' in html
    assert "region=370102&amp;days=30" in html


async def test_an_administrator_corrects_the_expected_people(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, csrf = await as_role("admin")
    answer = await client.post(
        f"{DASHBOARD}/expected",
        data={"region": "370102002", "category": "", "count": "8", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert answer.status == 303
    assert "notice=expected_saved" in answer.headers["Location"]
    assert _figures(await _get(client, DASHBOARD))[:3] == ["18", "7", "38.9%"]
    assert "report.expected_set" in audit_actions(campaign)
    removed = await client.post(
        f"{DASHBOARD}/expected",
        data={"region": "370102002", "category": "", "remove": "1", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert removed.status == 303
    assert _figures(await _get(client, DASHBOARD))[0] == "10"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"region": "370102002", "count": "12x"}, "应采人数须为"),
        ({"region": "370102002", "count": "100000001"}, "应采人数须为"),
        ({"region": "370102002", "count": "5", "category": "nobody"}, "未知的人员类别"),
        ({"region": "370200001", "count": "5"}, "请选择本辖区内的地区"),
        ({"region": "37010", "count": "5"}, "请选择本辖区内的地区"),
    ],
    ids=["not-a-number", "too-many", "unknown-category", "outside", "malformed-region"],
)
async def test_a_bad_expected_count_is_refused_and_changes_nothing(
    as_role: AsRole, campaign: HubContext, form: dict[str, str], message: str
) -> None:
    client, csrf = await as_role("admin")
    with campaign.store.read() as session:
        before = session.scalars(sa.select(ExpectedRow.count).order_by(ExpectedRow.region)).all()
    answer = await client.post(f"{DASHBOARD}/expected", data={**form, "csrf_token": csrf})
    assert answer.status == 422
    assert message in await answer.text()
    with campaign.store.read() as session:
        after = session.scalars(sa.select(ExpectedRow.count).order_by(ExpectedRow.region)).all()
    assert after == before


async def test_only_administrators_change_settings(as_role: AsRole, campaign: HubContext) -> None:
    client, csrf = await as_role("reviewer")
    assert "expected-form" not in await _get(client, f"{DASHBOARD}/settings")
    answer = await client.post(
        f"{DASHBOARD}/expected", data={"region": "370102002", "count": "9", "csrf_token": csrf}
    )
    assert answer.status == 403
    phase = await client.post(
        f"{DASHBOARD}/phases",
        data={"kind": "collection", "starts": "2026-11-01", "deadline": "2026-12-31",
              "csrf_token": csrf},
    )  # fmt: skip
    assert phase.status == 403


async def test_deadlines_set_the_phase_table(as_role: AsRole, campaign: HubContext) -> None:
    client, csrf = await as_role("admin")
    form = {"kind": "collection", "starts": "2026-11-01", "deadline": "2026-12-31"}
    answer = await client.post(
        f"{DASHBOARD}/phases", data={**form, "csrf_token": csrf}, allow_redirects=False
    )
    assert answer.status == 303
    html = await _get(client, DASHBOARD)
    assert 'id="no-campaign"' not in html
    phases = html.split('id="table-phases"', 1)[1].split("</table>", 1)[0]
    # 32 days left; 7 of 14 done, 7 to go: 7 / 33 a day needed.
    assert "2026-12-31" in phases
    assert ">32<" in phases
    assert "0.21" in phases
    with campaign.store.read() as session:
        assert session.get(PhaseRow, "collection") is not None


@pytest.mark.parametrize(
    ("starts", "deadline", "message"),
    [
        ("2026-12-31", "2026-11-01", "截止日期不能早于开始日期"),
        ("2026-11-01", "", "截止日期不能早于开始日期"),
        ("2026-02-30", "2026-12-31", "日期格式应为"),
        ("11/01/2026", "2026-12-31", "日期格式应为"),
    ],
    ids=["backwards", "one-day-only", "no-such-day", "not-iso"],
)
async def test_bad_deadlines_are_refused_and_change_nothing(
    as_role: AsRole, campaign: HubContext, starts: str, deadline: str, message: str
) -> None:
    client, csrf = await as_role("admin")
    answer = await client.post(
        f"{DASHBOARD}/phases",
        data={"kind": "collection", "starts": starts, "deadline": deadline, "csrf_token": csrf},
    )
    assert answer.status == 422
    assert message in await answer.text()
    with campaign.store.read() as session:
        assert session.get(PhaseRow, "collection") is None


async def test_the_report_button_makes_the_workbook_with_the_narrative(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, csrf = await as_role("admin")
    form = {"period": "2026-11", "narrative": "十一月：两个街道均过半。", "csrf_token": csrf}
    answer = await client.post(f"{DASHBOARD}/report", data={**form, "action": "xlsx"})
    assert answer.status == 200
    assert "report-370102-2026-11-01_2026-11-30.xlsx" in answer.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(await answer.read()))
    assert workbook["概况"]["A18"].value == "十一月：两个街道均过半。"
    rows = {r[0]: r for r in workbook["各地区采集进度"].iter_rows(min_row=2, values_only=True)}
    assert rows["370102001"][2:5] == (10, 5, 0.5)
    with campaign.store.read() as session:
        kept = session.get(NarrativeRow, ("370102", "2026-11-01..2026-11-30"))
    assert kept is not None
    assert kept.text == "十一月：两个街道均过半。"
    page = await client.post(f"{DASHBOARD}/report", data={**form, "action": "html"})
    html = await page.text()
    assert html.count('class="muster-chart muster-chart--') == 6
    assert "十一月：两个街道均过半。" in html
    again = await _get(client, f"{DASHBOARD}/report?period=2026-11")
    assert "十一月：两个街道均过半。" in again
    assert "report.narrative_saved" in audit_actions(campaign)


async def test_a_viewer_downloads_the_report_but_cannot_change_the_narrative(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, csrf = await as_role("viewer")
    assert "readonly" in await _get(client, f"{DASHBOARD}/report")
    form = {"period": "2026-11", "narrative": "篡改", "csrf_token": csrf}
    answer = await client.post(f"{DASHBOARD}/report", data={**form, "action": "xlsx"})
    assert answer.status == 200
    workbook = openpyxl.load_workbook(io.BytesIO(await answer.read()))
    assert workbook["概况"]["A18"].value != "篡改"
    refused = await client.post(f"{DASHBOARD}/report", data={**form, "action": "save"})
    assert refused.status == 400
    with campaign.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(NarrativeRow)) == 0


@pytest.mark.parametrize(
    ("period", "narrative", "message"),
    [
        ("2026-13", "", "2026-13 is not a calendar month"),
        ("2027-01", "", "expected a start on or before"),
        ("2026-11", "坏\x00字符", "control character"),
    ],
    ids=["bad-month", "future", "control-character"],
)
async def test_a_bad_period_or_narrative_is_refused_and_saves_nothing(
    as_role: AsRole, campaign: HubContext, period: str, narrative: str, message: str
) -> None:
    client, csrf = await as_role("admin")
    answer = await client.post(
        f"{DASHBOARD}/report",
        data={"period": period, "narrative": narrative, "action": "xlsx", "csrf_token": csrf},
    )
    assert answer.status == 422
    assert message in await answer.text()
    with campaign.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(NarrativeRow)) == 0


async def test_record_export_is_refused_for_viewers_and_audited(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, csrf = await as_role("viewer")
    assert (await client.get(f"{DASHBOARD}/export")).status == 403
    answer = await client.post(
        f"{DASHBOARD}/export", data={"field": ["name", "id_number"], "csrf_token": csrf}
    )
    assert answer.status == 403
    assert audit_actions(campaign)[-1] == "records.export_refused"


async def test_an_administrator_exports_the_scope_s_records_audited(
    as_role: AsRole, campaign: HubContext
) -> None:
    client, csrf = await as_role("admin")
    assert 'name="field" value="portrait_photo"' not in await _get(client, f"{DASHBOARD}/export")
    answer = await client.post(
        f"{DASHBOARD}/export",
        data={"field": ["name", "id_number", "portrait_photo", "nonsense"], "csrf_token": csrf},
    )
    assert answer.status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(await answer.read())).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["姓名", "公民身份号码"]
    assert sheet.max_row == 8  # the seven live records collected by the district's node
    assert audit_actions(campaign)[-1] == "records.exported"
    assert not list(campaign.config.scratch_dir.glob("export-*"))


def test_the_dashboard_catalogs_have_every_key_in_both_languages() -> None:
    catalogs = Catalogs.load(("node.web.kit", *REPORT_PACKAGES, "hub.console"))
    used = template_keys("hub.reports") | {
        "nav.dashboard",
        "job.report_snapshot",
        "job.report_facts",
        *(f"notice.{n}" for n in ("expected_saved", "phase_saved", "narrative_saved")),
        *(f"dashboard.bad_{k}" for k in ("count", "day", "region", "category", "phase")),
        "dashboard.phase_whole_hub",
        *(f"dashphase.{k.value}" for k in PhaseKind),
    }
    assert len(used) > 40
    for locale in LOCALES:
        texts = catalogs.messages[locale]
        assert used - set(texts) == set(), locale
        assert all(texts[k].strip() for k in used)
