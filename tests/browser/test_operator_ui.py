"""The operator's first hour, in a real browser: `leadflow up --demo`, then the Temporal Web UI in
headless Chromium (Debian's, driven by Playwright; no browser download). Screenshots of every
step land in the test's temporary directory, or in LEADFLOW_SCREENSHOTS when set."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.local_stack import Stack

CHROMIUM = "/usr/bin/chromium"
BACKFILL_ID = "backfill:hubspot-from-the-ui"
BACKFILL_INPUT = {"source": "hubspot", "modified_after": "2026-01-01T00:00:00Z"}


@pytest.fixture
def demo_stack(tmp_path) -> AsyncIterator[Stack]:
    stack = Stack(tmp_path)
    stack.extra_args = ["--demo"]
    stack.start()
    yield stack
    stack.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


class Shots:
    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    async def take(self, name: str) -> None:
        self.count += 1
        await self.page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


async def open_workflow_list(page: Page, ui: str) -> None:
    """The UI's API answers 503 for a moment after the server is ready: reload until leads show."""
    deadline = time.monotonic() + 30
    while True:
        await page.goto(f"{ui}/namespaces/default/workflows")
        try:
            await page.get_by_role("link", name="lead:grace@globex.com").wait_for(timeout=5000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise


async def test_operator_filters_leads_by_stage_opens_one_and_starts_a_backfill(demo_stack, browser, tmp_path):
    ui = f"http://127.0.0.1:{demo_stack.ui_port}"
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    shots = Shots(page, Path(os.environ.get("LEADFLOW_SCREENSHOTS", tmp_path / "screenshots")))

    await open_workflow_list(page, ui)
    leads = page.get_by_role("link", name=re.compile(r"^lead:"))
    await expect(leads).to_have_count(16)  # every demo lead is a running workflow
    await shots.take("all-leads")

    # Filter by stage the way an operator does: Add Filter -> LeadStage -> value -> Apply.
    await page.get_by_role("button", name="Add Filter").click()
    await page.get_by_test_id("workflow-filter-search").fill("LeadStage")
    await page.get_by_text("LeadStage", exact=True).click()
    await page.get_by_placeholder("Enter value...").fill("MQL")
    await page.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(r"query=.*LeadStage"))
    await expect(leads).to_have_count(1)
    await expect(leads).to_have_text("lead:grace@globex.com")
    await shots.take("mql-leads")

    # Open the lead: its type, queue and the search attributes the workflow keeps current.
    await leads.first.click()
    await expect(page.get_by_role("heading", name="lead:grace@globex.com")).to_be_visible()
    main = page.locator("main")
    await expect(main).to_contain_text("LeadWorkflow")
    await expect(main).to_contain_text("Running", ignore_case=True)
    await page.get_by_text("Search Attributes", exact=True).click()
    await expect(main).to_contain_text('"LeadStage": "MQL"')
    await expect(main).to_contain_text('"SlaDueAt"')  # the MQL follow-up SLA is running
    await expect(main).to_contain_text('"AccountDomain": "globex.com"')
    await shots.take("lead-search-attributes")

    # Start a backfill from the Start Workflow form, as the README tells operators to.
    await page.goto(f"{ui}/namespaces/default/workflows")
    await page.get_by_role("link", name="Start Workflow").click()
    await page.get_by_role("textbox", name="Workflow ID").fill(BACKFILL_ID)
    await page.get_by_role("textbox", name="Task Queue").fill("leadflow")
    await page.get_by_role("textbox", name="Workflow Type").fill("BackfillWorkflow")
    await page.get_by_role("textbox", name="Data").fill(json.dumps(BACKFILL_INPUT))
    await page.get_by_role("heading", name="Start Workflow").click()  # the editor commits on blur
    await expect(page.get_by_text("Task Queue is Active")).to_be_visible()
    await shots.take("start-backfill-form")
    await page.get_by_role("button", name="Start Workflow").click()
    await expect(page.get_by_text("Workflow started successfully").first).to_be_visible()
    await shots.take("backfill-started")

    await page.goto(f"{ui}/namespaces/default/workflows")
    started = page.get_by_role("link", name=BACKFILL_ID)
    await expect(started).to_be_visible(timeout=15000)
    await started.click()
    await expect(page.get_by_role("heading", name=BACKFILL_ID)).to_be_visible()
    await expect(main).to_contain_text("BackfillWorkflow")
    await expect(main).to_contain_text('"modified_after": "2026-01-01T00:00:00Z"')
    await shots.take("backfill-workflow")

    assert demo_stack.stop() == 0
