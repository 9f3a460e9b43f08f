"""How a leadflow process reaches Temporal: plain gRPC locally, TLS with an API key or mTLS in production.

`connect` is the one place leadflow calls `Client.connect` (worker, ingest, CLI, local stack):
address, namespace, TLS, API key and the pydantic data converter all come from the settings, so
a variable an operator sets reaches every process alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from config.settings import Settings


async def connect(settings: Settings, **overrides: Any) -> Client:
    """A client for the configured cluster; `overrides` (runtime, lazy, retry_config, ...) are
    passed to `Client.connect` on top of what the settings say."""
    kwargs: dict[str, Any] = {"namespace": settings.temporal_namespace,
                              "data_converter": pydantic_data_converter, **options(settings)}
    return await Client.connect(settings.temporal_address, **(kwargs | overrides))


def options(settings: Settings) -> dict[str, Any]:
    """`Client.connect` keyword arguments for TLS and authentication, from the settings."""
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if (cert is None) != (key is None):
        raise ValueError("LEADFLOW_TEMPORAL_TLS_CERT and LEADFLOW_TEMPORAL_TLS_KEY go together: "
                         "set both or neither")
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    if not (settings.temporal_tls or api_key or cert or ca):
        return {}
    tls = TLSConfig(
        client_cert=_read(cert, "LEADFLOW_TEMPORAL_TLS_CERT"),
        client_private_key=_read(key, "LEADFLOW_TEMPORAL_TLS_KEY"),
        server_root_ca_cert=_read(ca, "LEADFLOW_TEMPORAL_TLS_CA"),
    )
    return {"tls": tls, "api_key": api_key} if api_key else {"tls": tls}


def _read(path: Path | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{variable}: cannot read {path}: {exc.strerror}") from exc
