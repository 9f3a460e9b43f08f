"""How leadflow reaches Temporal Cloud or a TLS cluster, from the settings an operator sets."""

from __future__ import annotations

import pytest
import trustme

from config.settings import Settings
from config.temporal import options


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_local_dev_server_is_plain_grpc():
    assert options(settings()) == {}


def test_an_api_key_turns_tls_on_with_the_system_roots():
    opts = options(settings(LEADFLOW_TEMPORAL_API_KEY="key-123"))
    assert opts["api_key"] == "key-123"
    assert opts["tls"].client_cert is None and opts["tls"].server_root_ca_cert is None


def test_mtls_reads_the_client_certificate_key_and_ca_files(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("worker.leadflow.test")
    cert_path, key_path, ca_path = tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    opts = options(settings(LEADFLOW_TEMPORAL_TLS_CERT=str(cert_path),
                            LEADFLOW_TEMPORAL_TLS_KEY=str(key_path), LEADFLOW_TEMPORAL_TLS_CA=str(ca_path)))
    assert "api_key" not in opts
    assert opts["tls"].client_cert == cert_path.read_bytes()
    assert opts["tls"].client_private_key == key_path.read_bytes()
    assert opts["tls"].server_root_ca_cert == ca_path.read_bytes()


def test_a_certificate_without_its_key_is_refused_with_both_names(tmp_path):
    (tmp_path / "client.pem").write_text("x")
    with pytest.raises(ValueError, match="LEADFLOW_TEMPORAL_TLS_CERT and LEADFLOW_TEMPORAL_TLS_KEY"):
        options(settings(LEADFLOW_TEMPORAL_TLS_CERT=str(tmp_path / "client.pem")))


def test_an_unreadable_file_names_its_variable(tmp_path):
    with pytest.raises(ValueError, match="LEADFLOW_TEMPORAL_TLS_CA: cannot read .*missing.pem"):
        options(settings(LEADFLOW_TEMPORAL_TLS_CA=str(tmp_path / "missing.pem")))
