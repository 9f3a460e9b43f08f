"""Screenshots of the real Temporal UI for docs/operations.md, taken with headless Chromium.

Run against a local stack (`leadflow up`) after a backfill and `leadflow schedules apply`:

    .venv/bin/python scripts/ui_screenshots.py http://127.0.0.1:8233 docs/img [RECONCILE_RUN_ID]

RECONCILE_RUN_ID names a ReconcileWorkflow run worth showing (one that repaired drift).

Uses Debian's /usr/bin/chromium (scripts/system-deps.sh); playwright downloads no browser.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from urllib.parse import quote

from playwright.async_api import Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
LEADS_QUERY = "WorkflowType = 'LeadWorkflow' AND LeadStage = 'MQL' AND AccountDomain = 'acme.io'"
BACKFILL_INPUT = {"source": "hubspot", "modified_after": "2026-01-01T00:00:00Z",
                  "modified_before": None, "dry_run": True}


async def shoot(page: Page, out: Path, name: str) -> None:
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(2500)
    await page.screenshot(path=str(out / f"{name}.png"))
    print(f"wrote {out / name}.png")


async def start_form(page: Page, ui: str, out: Path) -> str:
    await page.goto(f"{ui}/namespaces/default/workflows/start-workflow")
    await page.get_by_label("Workflow ID").fill("backfill-hubspot-from-ui")
    await page.get_by_label("Task Queue").fill("leadflow")
    await page.get_by_label("Workflow Type").fill("BackfillWorkflow")
    editor = page.locator(".cm-content").first
    await editor.click()
    await page.keyboard.insert_text(json.dumps(BACKFILL_INPUT, indent=2))
    await shoot(page, out, "start-backfill")
    await page.get_by_role("button", name="Start Workflow").click()
    await page.wait_for_timeout(5000)  # let the dry run finish
    await open_workflow(page, ui, "backfill-hubspot-from-ui")
    return page.url


async def open_workflow(page: Page, ui: str, workflow_id: str) -> None:
    await page.goto(f"{ui}/namespaces/default/workflows?query={quote(f'WorkflowId = {workflow_id!r}')}")
    await page.wait_for_load_state("networkidle")
    await page.get_by_role("link", name=workflow_id).first.click()


async def main(ui: str, out: Path, reconcile_id: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1280, "height": 860})
        await start_form(page, ui, out)
        await shoot(page, out, "backfill-result")
        await page.get_by_role("tab", name="Search Attributes").click()
        await shoot(page, out, "backfill-search-attributes")
        query = "WorkflowType = 'BackfillWorkflow'"
        await page.goto(f"{ui}/namespaces/default/workflows?query={quote(query)}")
        await shoot(page, out, "backfill-list")
        await page.goto(f"{ui}/namespaces/default/workflows?query={quote(LEADS_QUERY)}")
        await shoot(page, out, "leads-by-stage")
        await page.goto(f"{ui}/namespaces/default/schedules/leadflow-reconcile")
        await page.wait_for_timeout(1500)
        await page.get_by_role("button", name="Schedule Actions").click()
        await page.get_by_role("menuitem", name="Backfill").click()
        await shoot(page, out, "schedule-backfill")
        if reconcile_id:
            await open_workflow(page, ui, reconcile_id)
            await shoot(page, out, "reconcile-result")
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
