"""Everything a request handler needs, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from config.playbook import Playbook
from config.playbook_loader import stock_playbook
from config.settings import Settings
from ingest.delivery import Delivery
from ingest.hubspot_lookup import HubSpotContacts
from ingest.metrics import IngestMetrics

# Seconds a sender should wait before retrying after a 503.
RETRY_AFTER_S = 5


@dataclass
class IngestContext:
    settings: Settings
    playbook: Playbook  # maps event names and vendor stage values; starts new leads
    metrics: IngestMetrics
    delivery: Delivery
    hubspot: HubSpotContacts

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestContext:
        metrics = IngestMetrics()
        return cls(settings=settings, playbook=stock_playbook(settings.playbook), metrics=metrics,
                   delivery=Delivery(settings, metrics), hubspot=HubSpotContacts(settings))
