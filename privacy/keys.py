"""Master keys: `LEADFLOW_ENCRYPTION_KEYS`, AES-256-GCM sealing, and how rotation works.

The variable lists `id:base64key` pairs, newest first: `2026-11:q2V...,2026-05:Zm9...`. The
newest key seals everything new; every listed key opens what it sealed. A key's id travels in
each sealed payload's metadata (and beside each wrapped data key), so a process knows which key
to use without trying them all. Rotation (docs/privacy.md): put a new key first, restart, run
`leadflow keys rewrap` so every lead's data key is wrapped by the new one, and drop the old key
only once no history sealed directly with it is left inside the namespace's retention.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12  # AES-GCM's standard nonce; random per message
KEY_BYTES = 32  # AES-256


class MissingKey(LookupError):
    """A payload or data key names a key this process does not have (retired, or erased)."""


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || AES-GCM(ciphertext + tag); `aad` binds the result to its key id."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Raises cryptography's InvalidTag when the key, the aad or the bytes are not the sealed ones."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def new_key_entry(key_id: str) -> str:
    """One `id:base64key` entry for LEADFLOW_ENCRYPTION_KEYS (`leadflow keys new`)."""
    return f"{key_id}:{base64.b64encode(new_key()).decode()}"


@dataclass(frozen=True)
class MasterKeys:
    keys: dict[str, bytes]  # in the order given: the first one is the newest
    current_id: str

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        """Parses the variable; errors name the entry by position, never print a key."""
        keys: dict[str, bytes] = {}
        for n, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), start=1):
            key_id, sep, encoded = entry.partition(":")
            if not sep or not key_id or ":" in key_id.strip():
                raise ValueError(f"LEADFLOW_ENCRYPTION_KEYS entry {n}: expected id:base64key")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise ValueError(f"LEADFLOW_ENCRYPTION_KEYS entry {n} ({key_id}): not base64") from None
            if len(key) != KEY_BYTES:
                raise ValueError(f"LEADFLOW_ENCRYPTION_KEYS entry {n} ({key_id}): "
                                 f"{len(key)} bytes, expected {KEY_BYTES} (AES-256)")
            if key_id in keys:
                raise ValueError(f"LEADFLOW_ENCRYPTION_KEYS: key id {key_id!r} appears twice")
            keys[key_id] = key
        if not keys:
            raise ValueError("LEADFLOW_ENCRYPTION_KEYS is empty")
        return cls(keys=keys, current_id=next(iter(keys)))

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def get(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise MissingKey(f"master key {key_id!r} is not in LEADFLOW_ENCRYPTION_KEYS") from None

    def __repr__(self) -> str:  # never show key material
        return f"MasterKeys(ids={list(self.keys)})"
