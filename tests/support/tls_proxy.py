"""A TLS-terminating TCP proxy in front of the plain dev server, so a test can stand in for a
Temporal frontend that requires TLS (the `temporal` CLI dev server has no TLS flags).

Clients must speak TLS with ALPN `h2` (as gRPC does) and, when `client_ca` is given, present a
certificate that CA signed (mTLS); the decrypted bytes go to the dev server unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trustme


@asynccontextmanager
async def tls_proxy(target: str, server_cert: trustme.LeafCert,
                    client_ca: trustme.CA | None = None) -> AsyncIterator[TlsProxy]:
    proxy = TlsProxy(target, server_cert, client_ca)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, ssl=proxy.context)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        for task in list(proxy.pipes):
            task.cancel()
        await asyncio.gather(*proxy.pipes, return_exceptions=True)


class TlsProxy:
    def __init__(self, target: str, server_cert: trustme.LeafCert, client_ca: trustme.CA | None) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.port = 0
        self.handshakes = 0  # TLS sessions that reached the dev server
        self.pipes: set[asyncio.Task[None]] = set()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_cert.configure_cert(self.context)
        self.context.set_alpn_protocols(["h2"])
        if client_ca is not None:
            client_ca.configure_trust(self.context)
            self.context.verify_mode = ssl.CERT_REQUIRED

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        pipes = [asyncio.create_task(_pipe(reader, up_writer)), asyncio.create_task(_pipe(up_reader, writer))]
        self.pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self.pipes.difference_update(pipes)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def write_pems(directory: Path, ca: trustme.CA, client: trustme.LeafCert) -> dict[str, str]:
    """The CA and a client certificate and key as files, named by the settings that read them."""
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "client.pem", directory / "client.key"
    ca.cert_pem.write_to_path(str(ca_path))
    client.cert_chain_pems[0].write_to_path(str(cert_path))
    client.private_key_pem.write_to_path(str(key_path))
    return {"LEADFLOW_TEMPORAL_TLS_CA": str(ca_path), "LEADFLOW_TEMPORAL_TLS_CERT": str(cert_path),
            "LEADFLOW_TEMPORAL_TLS_KEY": str(key_path)}
