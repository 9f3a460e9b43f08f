"""The payload codec: every payload sealed with AES-256-GCM, each lead's under its own data key.

A codec sees payloads, not workflows, so it learns whose payloads they are from Temporal's
serialization context (temporalio >= 1.35 hands every codec a copy bound to the workflow id of
the workflow the payload belongs to: its input, signals, updates, queries, activity inputs and
results, heartbeats, continue-as-new). For a lead (`lead:<email>`) the payload is sealed with that
lead's data key and its metadata says `encryption-key-id: lead:<pseudonym>`; anything else (team
routers, backfills, reconciles, or a call without context) is sealed with the newest master key,
`encryption-key-id: master:<id>`. The key id alone is enough to open a payload again, so the
codec server decodes without knowing any workflow.

Limits, stated honestly (docs/privacy.md): a lead's email also appears outside its own
payloads: in its workflow id (`lead:<email>`, plain text in Temporal's database until the
closed run passes retention), in payloads of other workflows that name it under the master key
(a team router's assignment requests, a backfill page, a merge survivor's absorbed state), and
in search attributes (`AccountDomain`), which Temporal indexes unencrypted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

from privacy.keys import MissingKey, open_sealed, seal
from privacy.keystore import LEAD_PREFIX, KeyStore, lead_ref

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
MASTER_PREFIX = "master:"


def lead_email(workflow_id: str | None) -> str | None:
    """The email a lead workflow id names (`lead:<email>`), else None."""
    if workflow_id and workflow_id.startswith(LEAD_PREFIX) and "@" in workflow_id:
        return workflow_id[len(LEAD_PREFIX):]
    return None


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, store: KeyStore, workflow_id: str | None = None) -> None:
        self.store = store
        self.workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = getattr(context, "workflow_id", None)
        if workflow_id == self.workflow_id:
            return self
        return type(self)(self.store, workflow_id)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        ref, key = await self._sealing_key()
        return [Payload(metadata={"encoding": ENCODING, KEY_ID: ref.encode()},
                        data=seal(key, p.SerializeToString(), ref.encode())) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:  # written before encryption was turned on
                out.append(p)
                continue
            ref = p.metadata.get(KEY_ID, b"").decode()
            key = await self._opening_key(ref)
            out.append(Payload.FromString(open_sealed(key, p.data, ref.encode())))
        return out

    async def _sealing_key(self) -> tuple[str, bytes]:
        email = lead_email(self.workflow_id)
        if email is None:
            keys = self.store.keys
            return MASTER_PREFIX + keys.current_id, keys.current
        store = self.store  # the database is read in a thread, and only when the cache cannot answer
        pseudonym = store.pseudonym_if_ready(email)
        if pseudonym is None:
            pseudonym = await store.call(store.pseudonym, email)
        key = store.cached_key(pseudonym) or await store.call(store.lead_key, pseudonym, True)
        assert key is not None
        return lead_ref(pseudonym), key

    async def _opening_key(self, ref: str) -> bytes:
        if ref.startswith(MASTER_PREFIX):
            return self.store.keys.get(ref[len(MASTER_PREFIX):])
        if ref.startswith(LEAD_PREFIX):
            pseudonym = ref[len(LEAD_PREFIX):]
            key = self.store.cached_key(pseudonym) or await self.store.call(
                self.store.lead_key, pseudonym)
            if key is None:
                raise MissingKey(f"the data key of {ref} was erased (the lead was forgotten)")
            return key
        raise MissingKey(f"unknown encryption key id {ref!r}")

