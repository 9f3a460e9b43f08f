"""`leadflow codec-server`: Temporal's remote codec protocol, so people read live leads' payloads
in the Web UI and nothing else does.

`POST /decode` and `POST /encode` take and answer a Payloads message in protobuf JSON
(`{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`), as the UI sends it (with an
`X-Namespace` header). Every request needs `Authorization: Bearer $LEADFLOW_CODEC_TOKEN`: the
UI forwards its user's credentials when its codec settings say so; a UI that cannot send a
header (the dev server's `--ui-codec-endpoint`) may name the token as the endpoint's first path
segment instead (`http://127.0.0.1:8089/<token>`): a bearer secret in a URL, for a local stack.
CORS admits the UI's origins (LEADFLOW_CODEC_CORS_ORIGINS).

A payload whose data key was erased (a forgotten lead) or whose master key is gone comes back
unchanged, still `binary/encrypted`: the UI shows it as undecodable, the rest of the history
decodes. Key lookups are not cached here, so an erasure shows at once.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from config.settings import Settings, load_settings
from ingest.problems import Problem
from privacy.codec import EncryptionCodec
from privacy.converter import key_store
from privacy.keys import MissingKey

log = logging.getLogger("leadflow.codec")
MAX_BODY = 16 * 1024 * 1024  # a whole history's payloads in one request


def create_app(settings: Settings) -> Starlette:
    codec = EncryptionCodec(key_store(settings, cache_seconds=0))
    token = settings.codec_token.get_secret_value() if settings.codec_token else None

    def authorised(request: Request) -> None:
        if token is None:
            raise Problem(401, "not-configured", "LEADFLOW_CODEC_TOKEN is not set: the codec "
                          "server refuses every request")
        given = request.path_params.get("token") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Problem(401, "unauthorized", "missing or wrong bearer token")

    async def payloads_of(request: Request) -> Payloads:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise Problem(413, "too-large", f"at most {MAX_BODY} bytes")
        try:
            return json_format.Parse(body or b"{}", Payloads())
        except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
            raise Problem(400, "malformed", f"expected a Payloads message in protobuf JSON: {exc}") from None

    async def decode_one(payload: Payload) -> Payload:
        try:
            return (await codec.decode([payload]))[0]
        except (MissingKey, InvalidTag):
            return payload  # undecodable for good: shown as what it is

    def handler(work):  # type: ignore[no-untyped-def]
        async def run(request: Request) -> Response:
            try:
                authorised(request)
                payloads = await payloads_of(request)
                out = await work(list(payloads.payloads))
            except Problem as problem:
                return problem.response(request.url.path)
            return JSONResponse(json_format.MessageToDict(Payloads(payloads=out)))
        return run

    async def decode(payloads: list[Payload]) -> list[Payload]:
        return list(await asyncio.gather(*(decode_one(p) for p in payloads)))

    async def encode(payloads: list[Payload]) -> list[Payload]:
        return await codec.encode(payloads)  # no workflow context: sealed with the master key

    routes = [Route(path, handler(work), methods=["POST"])
              for prefix in ("", "/{token}")
              for path, work in ((f"{prefix}/decode", decode), (f"{prefix}/encode", encode))]
    origins = [o.strip() for o in settings.codec_cors_origins.split(",") if o.strip()]
    return Starlette(routes=routes, middleware=[Middleware(
        CORSMiddleware, allow_origins=origins, allow_methods=["POST"], allow_credentials=True,
        allow_headers=["Authorization", "Content-Type", "X-Namespace"])])


async def run_codec_server(settings: Settings, stop: asyncio.Event) -> None:
    from ingest.server import serving_app

    async with serving_app(create_app(settings), settings.codec_host, settings.codec_port) as url:
        log.info("codec server listening on %s (CORS: %s)", url, settings.codec_cors_origins)
        await stop.wait()


def main(host: str | None = None, port: int | None = None) -> None:
    settings = load_settings()
    updates = {k: v for k, v in (("codec_host", host), ("codec_port", port)) if v is not None}
    settings = settings.model_copy(update=updates)
    from ingest.server import serve_until_signalled

    serve_until_signalled(lambda stop: run_codec_server(settings, stop))
