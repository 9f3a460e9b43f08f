"""The emulated HubSpot API as one Starlette app."""

from __future__ import annotations

from starlette.applications import Starlette

from emulators.hubspot import associations_api, control, meta_api, objects_api
from emulators.hubspot.state import HubSpotState


def create_app(state: HubSpotState) -> Starlette:
    app = Starlette(routes=control.routes() + meta_api.routes() + objects_api.routes()
                    + associations_api.routes())
    app.state.hubspot = state
    return app
