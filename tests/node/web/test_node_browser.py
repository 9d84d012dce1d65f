"""The collection UI in real headless Chromium against the real node app and store.

One walk through a collection point's day, with a screenshot of each step (saved in
test-artifacts/; the operator guide uses some of them): log in, read a card from
the simulated reader on a pty, fill each form type, see and fix a validation
error, upload a photo, draw a signature, compare a card with an existing record,
authorise the batch as the approver, see the bundle in the outbox, switch to English.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.crosscheck import Finding, FindingKind, SourceKind, problem_body
from hub.crosscheck.authority import Authority
from node.collector.config import CollectorConfig
from node.collector.reader import Reader
from node.collector.simulator import Simulator
from node.services import NodeServices
from node.services.state import DOWN, position
from node.store import transaction
from node.store.models import OpState
from protocol.bundle import BundleKind
from protocol.entries import Problem
from tests.fixtures.browser import ARTIFACTS, screenshot
from tests.node.core.helpers import (
    PASSPHRASE,
    Clock,
    NodeUnderTest,
    down_bundle,
    hub_create,
    ready_node,
)
from tests.node.web.browser_steps import (
    CARD_FIELDS,
    card_for,
    draw_signature,
    fill_fields,
    log_in,
    photo_file,
    record_values,
)
from tests.node.web.liveserver import LiveServer
from tests.node.web.nodeapp import make_ui
from tests.pki import Pki

pytestmark = pytest.mark.browser

GUIDE_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "zh" / "img"
#: The screenshots the operator guide shows (docs/zh/操作手册-采集点.md).
GUIDE = (
    "node-01-login",
    "node-03-choose-categories",
    "node-04-card-read",
    "node-05-validation-error",
    "node-06-record",
    "node-07-form-survivor",
    "node-08-baseline",
    "node-09-home",
    "node-10-card-differences",
    "node-11-approval",
    "node-12-wrong-password",
    "node-13-outbox",
    "node-14-english",
    "node-15-problems",
)
FORMS = (
    ("survivor", "martyr_survivor", 21),
    ("active-family", "active_duty_family", 22),
    ("disabled-militia", "disabled_militia", 23),
)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeUnderTest]:
    ready = ready_node(tmp_path, Pki.build(), Clock())
    yield ready
    ready.services.close()


def _shot(page: Any, name: str) -> None:
    screenshot(page, name)
    # The guide's pictures change only when asked, so a test run leaves the tree clean:
    # MUSTER_UPDATE_GUIDE_IMAGES=1 make pytest
    if name in GUIDE and os.environ.get("MUSTER_UPDATE_GUIDE_IMAGES") == "1":
        GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", GUIDE_IMAGES / f"{name}.png")


def _with_reader(node: NodeUnderTest, simulator: Simulator) -> None:
    """Reopen the node's services with the simulated reader as its card source."""

    def read(timeout: float) -> Any:
        with Reader(CollectorConfig(port_url=simulator.path)) as reader:
            return reader.wait_for_card(timeout)

    node.services.close()
    node.services = NodeServices.open(node.data_dir, PASSPHRASE, now=node.clock, card_source=read)


def _choose(page: Any, base: str, category: str) -> None:
    page.goto(f"{base}/records/new")
    page.check(f'input[name="subject_category"][value="{category}"]')
    page.click("#refresh-form")
    page.wait_for_selector("#save-record")


def test_a_collection_point_day_in_the_browser(
    page: Any, node: NodeUnderTest, tmp_path: Path
) -> None:
    schema = node.services.context.schema
    today = node.clock().date()
    categories, first = record_values(schema, category="retired_soldier", seed=11, today=today)
    moved = "山东省济南市历下区新址路1号"
    cards = (card_for(first), card_for(first, address=moved))
    page.on("dialog", lambda dialog: dialog.accept())

    with Simulator(cards=cards, link_path=tmp_path / "ttySIM0") as simulator:
        _with_reader(node, simulator)
        with LiveServer(lambda: make_ui(node, card_timeout_s=8.0)) as server:
            base = server.url
            page.goto(f"{base}/")
            assert "/login" in page.url
            _shot(page, "node-01-login")
            log_in(page, base, "collector")
            assert page.locator("#sync-now").is_visible()
            _shot(page, "node-02-home")

            # A veteran: categories, then the card, then the rest of the form.
            page.goto(f"{base}/records/new")
            page.check('input[name="subject_category"][value="retired_soldier"]')
            _shot(page, "node-03-choose-categories")
            page.click("#refresh-form")
            page.wait_for_selector("#read-card")
            simulator.place(0)
            page.click("#read-card")
            page.wait_for_selector("#card-read")
            assert page.input_value('input[name="name"]') == first["name"]
            assert page.input_value('input[name="id_number"]') == first["id_number"]
            assert page.input_value('input[name="birth_date"]') == first["birth_date"]
            _shot(page, "node-04-card-read")
            simulator.lift()

            fill_fields(page, schema, categories, first, skip=CARD_FIELDS | {"phone"})
            page.set_input_files('input[name="upload__portrait_photo"]', photo_file(tmp_path, 1))
            draw_signature(page)
            page.click("#save-record")
            page.wait_for_selector("#form-problems")
            phone = page.locator('[data-field="phone"]')
            assert "联系电话为必填项" in phone.inner_text()
            assert node.services.search("") == []
            _shot(page, "node-05-validation-error")

            # The photo and the signature were kept; fix the phone and save.
            assert page.locator('input[type=hidden][name="portrait_photo"]').count() == 1
            assert page.locator('input[type=hidden][name="subject_signature"]').count() == 1
            page.fill('input[name="phone"]', str(first["phone"]))
            page.click("#save-record")
            page.wait_for_selector("#history")
            assert "已保存" in page.inner_text(".notice")
            _shot(page, "node-06-record")
            (veteran,) = node.services.search("")
            record = node.services.get_record(veteran.record_id)
            assert record.values["phone"] == first["phone"]
            assert str(record.values["portrait_photo"]).startswith("b2:")
            assert str(record.values["subject_signature"]).startswith("b2:")
            assert str(record.values["id_card_photo"]).startswith("b2:")

            page.click('button[data-flag="home_visit"]')
            page.wait_for_selector("#flags .badge")
            assert "上门采集" in page.inner_text("#flags")

            # The other three forms.
            for name, category, seed in FORMS:
                cats, values = record_values(schema, category=category, seed=seed, today=today)
                _choose(page, base, category)
                fill_fields(page, schema, cats, values)
                page.set_input_files(
                    'input[name="upload__portrait_photo"]', photo_file(tmp_path, seed)
                )
                draw_signature(page)
                _shot(page, f"node-07-form-{name}")
                page.click("#save-record")
                page.wait_for_selector("#history")
                assert str(values["name"]) in page.inner_text("h1")
            assert len(node.services.search("")) == 4

            # The same person's card, with a new address: the record is opened, not overwritten.
            _choose(page, base, "retired_soldier")
            simulator.place(1)
            page.click("#read-card")
            page.wait_for_selector("#card-differences")
            assert moved in page.inner_text("#card-differences")
            _shot(page, "node-10-card-differences")
            simulator.lift()
            assert node.services.get_record(veteran.record_id).values["hukou_address"] != moved

            # The approver checks the batch and authorises it with their password.
            page.click(".account button.link")
            log_in(page, base, "approver")
            page.goto(f"{base}/approval")
            assert page.locator("section.pending").count() == 4
            _shot(page, "node-11-approval")
            page.fill("#approver-password", "wrong password")
            page.click("#authorise-button")
            page.wait_for_selector("#approval-error")
            _shot(page, "node-12-wrong-password")
            assert node.services.outbox() == []
            page.fill("#approver-password", "approver-pass-1")
            page.click("#authorise-button")
            page.wait_for_selector("#outbox-table")
            assert page.locator("#outbox-table tr.bundle").count() == 1
            (bundle,) = node.services.outbox()
            assert bundle.bundle_hash[:16] in page.inner_text("#outbox-table")
            assert node.services.status().ops_in(OpState.DRAFT) == 0
            _shot(page, "node-13-outbox")

            page.click('a.lang[hreflang="en"]')
            page.wait_for_selector("#outbox-table")
            assert "Outbox" in page.inner_text("h1")
            _shot(page, "node-14-english")


def _down(node: NodeUnderTest, tmp_path: Path, entries: list[Any], kind: BundleKind) -> Path:
    """A down bundle from the district hub, as a file brought on a USB stick."""
    with transaction(node.services.context.engine) as session:
        last = position(session, "370102", DOWN)
    data, _hash = down_bundle(
        node,
        entries,
        kind=kind,
        seq=last.last_seq + 1,
        prev=last.last_hash,
        bundle_id=f"{last.last_seq + 1:032x}",
    )
    path = tmp_path / f"down-{last.last_seq + 1}.bundle"
    path.write_bytes(data)
    return path


def test_baseline_records_and_problems_from_the_hub(
    page: Any, node: NodeUnderTest, tmp_path: Path
) -> None:
    baseline = [hub_create(node, seed) for seed in (31, 32)]
    report = node.services.import_files([_down(node, tmp_path, baseline, BundleKind.BASELINE)])
    assert [item.outcome for item in report.items] == ["applied"]
    # A finding of the household-register cross-check, as the district sends it down.
    finding = Problem(
        body=problem_body(
            Finding(
                finding_id="5e" * 16, kind=FindingKind.DECEASED, source="历下区公安户籍",
                source_kind=SourceKind.PUBLIC_SECURITY, dataset_id="d" * 32, row=12,
                record_id=baseline[1].record_id, field="living_status", register_value="已故",
                record_value="健在", authority=Authority.REGISTER, proposed_value="已故",
                division_code="370102001", details=(("death_date", "2026-03-02"),),
            )
        )
    )  # fmt: skip
    node.services.import_files([_down(node, tmp_path, [finding], BundleKind.PROBLEMS)])

    with LiveServer(lambda: make_ui(node)) as server:
        base = server.url
        log_in(page, base, "collector")
        assert page.inner_text("#stat-records") == "2"
        _shot(page, "node-09-home")

        page.goto(f"{base}/records/{baseline[0].record_id}")
        page.wait_for_selector("#to-verify")
        _shot(page, "node-08-baseline")
        page.click("#confirm-baseline")
        page.wait_for_selector(".notice")
        assert page.locator("#to-verify").count() == 0

        page.click('nav a[href="/problems"]')
        page.wait_for_selector("#problems-table")
        assert "已故" in page.inner_text("#problems-table")
        page.select_option('select[name="reason"]', "register_wrong")
        page.fill('form.answer input[name="answer"]', "已入户核实，本人健在，户籍登记有误")
        _shot(page, "node-15-problems")
        page.click("form.answer button[type=submit]")
        page.wait_for_selector(".notice")
        (item,) = node.services.problems(include_closed=True)
        assert (item.state, item.answer_reason) == ("answered", "register_wrong")
