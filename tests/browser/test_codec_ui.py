"""The Web UI of `make run`, in headless Chromium: a lead's input shows decoded (the UI asks the
stack's codec server), a forgotten lead's input stays ciphertext. Screenshots land in the test's
temporary directory, or in LEADFLOW_SCREENSHOTS when set."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.local_stack import BIN, Stack

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    running.start()
    yield running
    running.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


def run_id(stack: Stack, workflow_id: str) -> str:
    described = subprocess.run([str(BIN / "temporal"), "workflow", "describe", "--workflow-id", workflow_id,
                                "--address", f"127.0.0.1:{stack.port}", "--output", "json"],
                               capture_output=True, text=True, check=True).stdout
    return json.loads(described)["workflowExecutionInfo"]["execution"]["runId"]


async def open_history(page: Page, stack: Stack, workflow_id: str) -> None:
    ui = f"http://127.0.0.1:{stack.ui_port}"
    await page.goto(f"{ui}/namespaces/default/workflows/{workflow_id}/{run_id(stack, workflow_id)}/history")
    # (not "networkidle": the UI keeps polling a running workflow)
    await page.get_by_text("Input", exact=True).first.wait_for(state="attached", timeout=30000)
    await page.wait_for_timeout(3000)


async def test_the_ui_decodes_a_leads_input_and_shows_a_forgotten_leads_as_ciphertext(
        stack, browser, tmp_path):
    for email in ("ada@acme.io", "bob@acme.io"):
        sent = stack.leadflow("event", email, "demo_requested", "--prop", "company=Acme Rockets")
        assert sent.returncode == 0, sent.stderr
        assert stack.leadflow("show", email).returncode == 0
    forgot = stack.leadflow("forget", "bob@acme.io")
    assert forgot.returncode == 0 and "data key deleted" in forgot.stdout, forgot.stdout + forgot.stderr

    page = await browser.new_page(viewport={"width": 1400, "height": 1400})
    shots = Path(os.environ.get("LEADFLOW_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)

    await open_history(page, stack, "lead:ada@acme.io")
    await expect(page.get_by_text('"playbook_name"').first).to_be_visible(timeout=20000)
    await page.screenshot(path=shots / "decoded-lead.png", full_page=True)

    await open_history(page, stack, "lead:bob@acme.io")
    await page.wait_for_timeout(3000)  # the UI has asked the codec server by now
    await page.screenshot(path=shots / "forgotten-lead.png", full_page=True)
    text = await page.inner_text("body")
    assert '"playbook_name"' not in text and "Acme Rockets" not in text
    # Its input is shown as what it now is: base64 ciphertext nobody can open (a long one is cut
    # short in the page's text, no closing quote).
    assert re.search(r'Input\W+"[A-Za-z0-9+/]{200,}', text), text[:2000]
