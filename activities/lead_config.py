"""What a lead workflow learns from its worker when a run starts: the playbook and the vendors."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from config.playbook_loader import PlaybookError, stock_playbook
from workflows.lead_models import LEAD_CONFIG, LeadConfig


class LeadConfigActivities:
    def __init__(self, vendors: list[str], ledger: bool = False) -> None:
        self._vendors = list(vendors)
        self._ledger = ledger

    @activity.defn(name=LEAD_CONFIG)
    def lead_config(self, playbook_name: str) -> LeadConfig:
        try:
            playbook = stock_playbook(playbook_name)
        except PlaybookError as exc:
            raise ApplicationError(str(exc), type="PlaybookError", non_retryable=True) from exc
        return LeadConfig(playbook=playbook, vendors=self._vendors, ledger=self._ledger)
