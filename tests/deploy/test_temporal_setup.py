"""`leadflow setup temporal` readies a fresh namespace on a real server, and running it again is harmless."""

from __future__ import annotations

import uuid

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

from config.settings import Settings
from leadflow.temporal_setup import setup_temporal
from workflows import search_attributes as sa


async def test_setup_registers_the_namespace_and_every_search_attribute_once(dev_env):
    namespace = f"ops-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    settings = Settings(_env_file=None, LEADFLOW_TEMPORAL_ADDRESS=address,  # type: ignore[call-arg]
                        LEADFLOW_TEMPORAL_NAMESPACE=namespace)
    first = await setup_temporal(settings)
    assert first[0] == f"namespace {namespace}: created (retention 30 days)"
    assert "search attribute LeadStage: added" in first
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))
    assert {key.name for key in sa.REGISTERED_KEYS} <= set(listed.custom_attributes)

    again = await setup_temporal(settings)
    assert again == [f"namespace {namespace}: exists",
                     f"search attributes: {len(sa.REGISTERED_KEYS)} already registered"]
