"""HubSpot webhooks name contacts by objectId: their emails come from the HubSpot API."""

from __future__ import annotations

import asyncio
import logging

from config.settings import Settings
from connectors.base import VendorError
from connectors.hubspot import HubSpotConnector

log = logging.getLogger("leadflow.ingest")
MAX_WAIT_S = 2.0


class HubSpotUnavailable(Exception):
    """The HubSpot API could not answer: the webhook is refused with 503 so HubSpot retries."""


class HubSpotContacts:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._built: HubSpotConnector | None = None

    def _connector(self) -> HubSpotConnector:
        if self._built is None:
            token = self._settings.hubspot_access_token
            if token is None or not token.get_secret_value():
                raise VendorError("hubspot", "NO_CREDENTIALS", "HUBSPOT_ACCESS_TOKEN is not set",
                                  retryable=False)
            # HubSpot gives up on a webhook after 5 s: retry briefly, then let HubSpot retry.
            self._built = HubSpotConnector(access_token=token.get_secret_value(),
                                           base_url=self._settings.hubspot_base_url,
                                           stage_fields={}, max_wait_s=MAX_WAIT_S, max_attempts=3)
        return self._built

    async def emails(self, wanted: set[tuple[int, bool]]) -> dict[tuple[int, bool], str | None]:
        """{(objectId, archived): email or None} for every contact asked for: one batch/read
        call for live contacts and one for archived ones (per 100)."""
        try:
            connector = self._connector()
        except VendorError as exc:
            raise HubSpotUnavailable(str(exc)) from None
        out: dict[tuple[int, bool], str | None] = {}
        try:
            for archived in (False, True):
                ids = sorted(str(oid) for oid, arch in wanted if arch == archived)
                if ids:
                    found = await asyncio.to_thread(connector.contact_emails, ids, archived)
                    out.update({(int(i), archived): email for i, email in found.items()})
        except VendorError as exc:
            log.warning("HubSpot contact lookup failed: %s", exc)
            raise HubSpotUnavailable(str(exc)) from None
        return out
