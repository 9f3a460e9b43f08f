"""Salesforce REST emulator over TLS: `start()` serves it on loopback for tests and the local stack.

simple-salesforce always builds `https://` URLs, so the emulator runs under a certificate
from a throwaway `trustme` CA; clients trust `Running.ca_path` (with `trust_env = False`,
because REQUESTS_CA_BUNDLE would override `verify`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import trustme

from emulators.common import ServerThread
from emulators.salesforce.app import create_app
from emulators.salesforce.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
    SalesforceState,
)

__all__ = ["Running", "SalesforceState", "create_app", "start"]


class Running:
    """A started emulator: URL, CA bundle, inspectable state, credentials, and how to stop it."""

    def __init__(self, server: ServerThread, state: SalesforceState, tls_dir: Path) -> None:
        self.server = server
        self.state = state
        self._tls_dir = tls_dir
        self.ca_path = str(tls_dir / "ca.pem")

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def credentials(self) -> dict[str, str]:
        client_id, client_secret, username, _ = self.state.credentials
        return {"client_id": client_id, "client_secret": client_secret, "username": username,
                "password": DEFAULT_PASSWORD, "security_token": DEFAULT_SECURITY_TOKEN}

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point leadflow's settings at this emulator."""
        return {
            "SALESFORCE_BASE_URL": self.url,
            "SALESFORCE_USERNAME": DEFAULT_USERNAME,
            "SALESFORCE_PASSWORD": DEFAULT_PASSWORD,
            "SALESFORCE_SECURITY_TOKEN": DEFAULT_SECURITY_TOKEN,
            "SALESFORCE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "SALESFORCE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "SALESFORCE_CA_BUNDLE": self.ca_path,
        }

    def stop(self) -> None:
        # Clients keep TLS connections alive; without force_exit uvicorn waits 10 s for them.
        self.server.server.force_exit = True
        self.server.stop()
        shutil.rmtree(self._tls_dir, ignore_errors=True)

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(port: int = 0, *, host: str = "127.0.0.1", **options: Any) -> Running:
    """Serve the emulator. `options` go to SalesforceState: custom_fields=False (fields not yet
    deployed) or "Lead" (only the Lead fields), daily_limit, query_batch_size, statuses,
    duplicate_rule, credentials."""
    state = SalesforceState(**options)
    tls_dir = Path(tempfile.mkdtemp(prefix="sf-emulator-tls-"))
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tls_dir / "ca.pem"))
    cert = ca.issue_cert(host, "localhost")
    cert.private_key_pem.write_to_path(str(tls_dir / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tls_dir / "cert.pem"))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(tls_dir / "cert.pem"), append=True)
    server = ServerThread(create_app(state), host=host, port=port, certfile=tls_dir / "cert.pem",
                          keyfile=tls_dir / "key.pem")
    try:
        server.start()
    except BaseException:
        shutil.rmtree(tls_dir, ignore_errors=True)
        raise
    return Running(server, state, tls_dir)
