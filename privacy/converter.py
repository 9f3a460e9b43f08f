"""The data converter every leadflow process uses: pydantic JSON, sealed when keys are configured.

With `LEADFLOW_ENCRYPTION_KEYS` set (or the local stack's key file in the data dir), payloads go
through EncryptionCodec and failures' messages and stack traces move into an encoded attribute
(an error message can quote a lead's email), so nothing personal reaches Temporal in plain text
but the workflow id and search attributes. Without keys, the plain pydantic converter: existing
deployments keep working unchanged, and plain payloads written before encryption was turned on
always stay readable.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from config.settings import Settings
from ledger.engine import database_url, make_engine
from privacy.codec import EncryptionCodec
from privacy.keys import MasterKeys
from privacy.keystore import KeyStore

# `leadflow up` keeps the local stack's master key here; every local process finds it.
LOCAL_KEYS_FILE = "encryption-keys"


def encryption_keys(settings: Settings) -> str | None:
    """LEADFLOW_ENCRYPTION_KEYS, else the local stack's key file in the data dir, else None."""
    if settings.encryption_keys is not None:
        return settings.encryption_keys.get_secret_value()
    local = Path(settings.data_dir) / LOCAL_KEYS_FILE
    return local.read_text().strip() if local.is_file() else None


def key_store_url(settings: Settings) -> str:
    """LEADFLOW_KEY_STORE_URL, else the ledger's database."""
    if settings.key_store_url is not None:
        return settings.key_store_url.get_secret_value()
    return database_url(settings)


def key_store(settings: Settings, cache_seconds: float = 30.0) -> KeyStore:
    text = encryption_keys(settings)
    if text is None:
        raise ValueError("LEADFLOW_ENCRYPTION_KEYS is not set (see docs/privacy.md)")
    keys = MasterKeys.parse(text)
    url = key_store_url(settings)
    return KeyStore(lambda: make_engine(url), keys, cache_seconds=cache_seconds)


def encrypting_converter(store: KeyStore) -> DataConverter:
    return DataConverter(payload_converter_class=PydanticPayloadConverter,
                         payload_codec=EncryptionCodec(store),
                         failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def key_store_of(converter: DataConverter) -> KeyStore | None:
    """The key store behind a client's converter (None when payloads are not encrypted)."""
    codec = converter.payload_codec
    return codec.store if isinstance(codec, EncryptionCodec) else None


def data_converter(settings: Settings) -> DataConverter:
    if encryption_keys(settings) is None:
        return pydantic_data_converter
    return encrypting_converter(key_store(settings))
