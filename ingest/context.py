"""Everything a request handler needs, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from config.playbook import Playbook
from config.playbook_catalog import PlaybookCatalog
from config.playbook_loader import playbook_catalog
from config.settings import Settings
from ingest.delivery import Delivery
from ingest.hubspot_lookup import HubSpotContacts
from ingest.metrics import IngestMetrics

# Seconds a sender should wait before retrying after a 503.
RETRY_AFTER_S = 5


@dataclass
class IngestContext:
    settings: Settings
    playbook: Playbook  # maps event names (every loaded playbook's) and vendor stage values
    catalog: PlaybookCatalog  # LEADFLOW_PLAYBOOK_DIR: selects each new lead's playbook
    metrics: IngestMetrics
    delivery: Delivery
    hubspot: HubSpotContacts

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestContext:
        metrics = IngestMetrics()
        # Checked at start-up: a bad playbook stops ingest with file: field: reason.
        catalog = playbook_catalog(settings.playbook_directory, settings.playbook)
        return cls(settings=settings, playbook=catalog.ingest_playbook(), catalog=catalog,
                   metrics=metrics, delivery=Delivery(settings, metrics, catalog),
                   hubspot=HubSpotContacts(settings))
