"""A local HubSpot (CRM v3) that hubspot-api-client talks to over real HTTP.

    with start(rate_limit_max=20, rate_limit_interval_ms=1000) as hub:
        client = HubSpot(access_token=hub.token, host=hub.url)
        ...
        hub.state.count("POST /crm/v3/objects/contacts/batch/upsert")
"""

from __future__ import annotations

from emulators.common import ServerThread
from emulators.hubspot.app import create_app
from emulators.hubspot.state import DEFAULT_TOKEN, HubSpotState

__all__ = ["DEFAULT_TOKEN", "HubSpotState", "Running", "create_app", "start"]


class Running:
    def __init__(self, state: HubSpotState, server: ServerThread) -> None:
        self.state = state
        self._server = server

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def token(self) -> str:
        return next(iter(self.state.access_tokens))

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(port: int = 0, **options: object) -> Running:
    """Serve a fresh emulated portal on 127.0.0.1:port (0 picks a free port).

    Options are HubSpotState's: access_token, rate_limit_max, rate_limit_interval_ms,
    daily_limit, owners, portal_id, clock.
    """
    state = HubSpotState(**options)  # type: ignore[arg-type]
    server = ServerThread(create_app(state), port=port).start()
    state.base_url = server.url
    return Running(state, server)
