"""The codec server the Web UI calls: live leads decode, a forgotten lead's payloads stay sealed,
and only a caller with the token gets anything."""

from __future__ import annotations

import json

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client

from ingest.server import serving_app
from lifecycle.events import lead_workflow_id
from privacy.codec import ENCODING
from privacy.codec_server import create_app
from tests.support.privacy_stack import NEW_KEYS, PrivacyStack, leadflow_cli

TOKEN = "codec-token-for-tests"
UI = "http://localhost:8233"


async def start_input(client: Client, email: str) -> dict:  # type: ignore[type-arg]
    """The lead's first signal as Temporal stores it: what the UI sends to /decode."""
    history = await client.get_workflow_handle(lead_workflow_id(email)).fetch_history()
    event = next(e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes"))
    payloads = event.workflow_execution_signaled_event_attributes.input
    assert all(p.metadata["encoding"] == ENCODING for p in payloads.payloads)
    return json_format.MessageToDict(payloads)


def plain(answer: httpx.Response) -> list[dict]:  # type: ignore[type-arg]
    """The JSON values of a decode answer's payloads (None for a payload left sealed)."""
    out = []
    for p in json_format.ParseDict(answer.json(), Payloads()).payloads:
        sealed = p.metadata.get("encoding") == ENCODING
        out.append(None if sealed else json.loads(p.data))
    return out


async def test_live_leads_decode_and_a_forgotten_lead_stays_sealed(
        privacy_stack: PrivacyStack, two_leads) -> None:  # type: ignore[no-untyped-def]
    leads, gone, kept = two_leads
    gone_input, kept_input = await start_input(leads.client, gone), await start_input(leads.client, kept)
    settings = privacy_stack.settings(NEW_KEYS, LEADFLOW_CODEC_TOKEN=TOKEN)
    async with serving_app(create_app(settings), "127.0.0.1", 0) as url, \
            httpx.AsyncClient(base_url=url) as http:
        bearer = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"}
        before = await http.post("/decode", json=gone_input, headers=bearer)
        assert before.status_code == 200 and plain(before)[0]["properties"]["name"] == "Ada Lovelace"

        assert (await leadflow_cli(privacy_stack, "forget", gone)).returncode == 0

        after = await http.post("/decode", json=gone_input, headers=bearer)
        assert after.status_code == 200 and plain(after) == [None]  # sealed for good
        still = await http.post("/decode", json=kept_input, headers=bearer)
        assert plain(still)[0]["properties"]["company"] == "Analytical Engines"

        # The dev server's UI cannot send a header: the token as the endpoint's path works too.
        assert plain(await http.post(f"/{TOKEN}/decode", json=kept_input))[0] is not None
        # /encode seals what the UI sends (a signal typed into it), and /decode opens it again.
        typed = Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')])
        sealed = await http.post("/encode", json=json_format.MessageToDict(typed), headers=bearer)
        assert plain(sealed) == [None]
        assert plain(await http.post("/decode", json=sealed.json(), headers=bearer)) == [{"a": 1}]


async def test_no_token_no_payloads_and_only_the_ui_origin_passes_cors(
        privacy_stack: PrivacyStack) -> None:
    settings = privacy_stack.settings(NEW_KEYS, LEADFLOW_CODEC_TOKEN=TOKEN)
    async with serving_app(create_app(settings), "127.0.0.1", 0) as url, \
            httpx.AsyncClient(base_url=url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = await http.post("/decode", json={"payloads": []}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
        assert (await http.post("/wrong/decode", json={"payloads": []})).status_code == 401
        bad = await http.post("/decode", content=b"not json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bad.status_code == 400

        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
        ok = await http.options("/decode", headers={"Origin": UI, **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
        other = await http.options("/decode", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
