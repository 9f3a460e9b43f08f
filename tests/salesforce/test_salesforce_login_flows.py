"""The OAuth flows an integration may use: JWT bearer and client credentials (server-to-server),
and the username-password flow for orgs that still allow it; each logs in again after a 401."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config.settings import Settings
from connectors.base import VendorError
from connectors.salesforce import SalesforceConnector
from tests.support.sf_helpers import STAGE_FIELDS, lead, make_connector


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def jwt_org(org) -> Iterator[tuple[object, str]]:
    private, public = key_pair()
    org.state.jwt_public_key = public  # the certificate uploaded to the connected app
    org.state.password_flow = False  # an org that blocked the username-password flow
    yield org, private
    org.state.jwt_public_key, org.state.password_flow = None, True


def test_jwt_bearer_logs_in_and_again_after_a_401(jwt_org) -> None:
    org, private = jwt_org
    connector = make_connector(org, password=None, client_secret=None, private_key=private)
    assert connector.flow == "jwt"

    assert connector.upsert_leads([lead(1)])[0].ok
    org.state.expire_sessions()
    assert connector.upsert_leads([lead(1, "SQL")])[0].ok

    assert org.state.logins == 2
    assert private not in repr(connector)


def test_a_jwt_signed_with_another_key_is_refused(jwt_org) -> None:
    org, _ = jwt_org
    other, _ = key_pair()
    connector = make_connector(org, password=None, client_secret=None, private_key=other)

    with pytest.raises(VendorError) as caught:
        connector.upsert_leads([lead(1)])

    assert caught.value.code == "invalid_grant" and not caught.value.retryable
    assert "invalid assertion" in str(caught.value)


def test_client_credentials_log_in_as_the_run_as_user_and_again_after_a_401(org) -> None:
    connector = make_connector(org, username=None, password=None)
    assert connector.flow == "client_credentials"

    assert connector.upsert_leads([lead(1)])[0].ok
    org.state.expire_sessions()
    assert connector.upsert_leads([lead(1, "SQL")])[0].ok
    assert org.state.logins == 2

    org.state.client_credentials_user = None
    try:
        org.state.expire_sessions()
        with pytest.raises(VendorError) as caught:
            connector.upsert_leads([lead(2)])
    finally:
        org.state.client_credentials_user = org.credentials["username"]
    assert "no client credentials user enabled" in str(caught.value)


def test_a_blocked_password_flow_says_so(jwt_org) -> None:
    org, _ = jwt_org
    with pytest.raises(VendorError) as caught:
        make_connector(org).upsert_leads([lead(1)])

    assert caught.value.code == "unsupported_grant_type" and not caught.value.retryable


def test_settings_choose_the_jwt_flow_from_a_key_file(jwt_org, tmp_path) -> None:
    org, private = jwt_org
    key_file = tmp_path / "leadflow.key"
    key_file.write_text(private)
    env = {k: v for k, v in org.env.items()
           if k not in ("SALESFORCE_PASSWORD", "SALESFORCE_CLIENT_SECRET")}
    settings = Settings(_env_file=None, **env, SALESFORCE_PRIVATE_KEY_FILE=str(key_file))

    connector = SalesforceConnector.from_settings(settings, STAGE_FIELDS)

    assert connector.flow == "jwt" and connector.upsert_leads([lead(3)])[0].ok
