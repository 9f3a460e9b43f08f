"""What a lead workflow learns from its worker when a run starts: the playbook, the vendors, and
which personal search attributes the deployment keeps out of Temporal's visibility store."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import activity
from temporalio.exceptions import ApplicationError

from config.playbook_catalog import PlaybookCatalog
from config.playbook_loader import PlaybookError, playbook_catalog
from workflows import search_attributes as sa
from workflows.lead_models import LEAD_CONFIG, LeadConfig, QueueConfig


class LeadConfigActivities:
    def __init__(self, vendors: list[str], ledger: bool = False,
                 omit_search_attributes: Sequence[str] = (),
                 catalog: PlaybookCatalog | None = None, accounts: bool = False) -> None:
        unknown = set(omit_search_attributes) - sa.PERSONAL
        if unknown:  # refused at worker start, not discovered in a lead's history
            raise ValueError(f"LEADFLOW_OMIT_SEARCH_ATTRIBUTES: can leave out only "
                             f"{', '.join(sorted(sa.PERSONAL))}, not {', '.join(sorted(unknown))}")
        self._vendors = list(vendors)
        self._ledger = ledger
        self._omit = sorted(set(omit_search_attributes))
        self._catalog = catalog  # None: the deployment's (LEADFLOW_PLAYBOOK_DIR)
        self._accounts = accounts

    # perf (issue 16): async, so a new lead's first workflow task does not wait for a thread of
    # the activity executor (shared with the ledger's blocking writes). The playbook is read
    # from disk once per worker (stock_playbook is cached), then answered from memory.
    @activity.defn(name=LEAD_CONFIG)
    async def lead_config(self, playbook_name: str) -> LeadConfig:
        try:
            return self.config_for(playbook_name)
        except PlaybookError as exc:
            raise ApplicationError(str(exc), type="PlaybookError", non_retryable=True) from exc

    def config_for(self, playbook_name: str) -> LeadConfig:
        """What a lead of `playbook_name` learns from this worker (PlaybookError: no such
        playbook). A starter inside the worker (backfill) hands it over in LeadInput.config."""
        catalog = self._catalog or playbook_catalog()
        catalog.get(playbook_name)  # PlaybookError: file, field and reason
        config = self.published(catalog).lead_config(catalog, playbook_name)
        assert config is not None  # the hashes are this very catalog's
        return config

    def published(self, catalog: PlaybookCatalog | None = None) -> QueueConfig:
        """What this worker publishes for the starters of new leads (workflows/queue_config.py)."""
        catalog = catalog or self._catalog or playbook_catalog()
        return QueueConfig(vendors=self._vendors, ledger=self._ledger,
                           omit_search_attributes=self._omit, accounts=self._accounts,
                           playbooks={name: loaded.hash for name, loaded in catalog.current.items()})
