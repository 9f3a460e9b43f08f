"""`leadflow setup temporal`: make a self-hosted Temporal namespace ready for leadflow (idempotent).

A fresh cluster has no namespace and knows none of leadflow's search attributes; workflows that
upsert an unknown attribute fail their tasks. The compose file runs this once before the workers.
(On Temporal Cloud, create the namespace and the attributes with tcld or the Cloud UI instead.)
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from workflows import search_attributes as sa

RETENTION = timedelta(days=30)


async def connect_with_retry(settings: Settings, wait: float = 120.0) -> Client:
    """Waits for a cluster that is still starting (as in `docker compose up`)."""
    from config.temporal import connect

    deadline = time.monotonic() + wait
    while True:
        try:
            return await connect(settings)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(2)


async def ensure_namespace(client: Client, namespace: str) -> str:
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return f"namespace {namespace}: exists"
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    await client.workflow_service.register_namespace(RegisterNamespaceRequest(
        namespace=namespace, workflow_execution_retention_period=Duration(
            seconds=int(RETENTION.total_seconds()))))
    return f"namespace {namespace}: created (retention {RETENTION.days} days)"


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))
    missing = {key.name: IndexedValueType.ValueType(key.indexed_value_type)
               for key in sa.REGISTERED_KEYS if key.name not in listed.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=namespace, search_attributes=missing))
    present = len(sa.REGISTERED_KEYS) - len(missing)
    return [f"search attribute {name}: added" for name in sorted(missing)] + (
        [f"search attributes: {present} already registered"] if present else [])


async def setup_temporal(settings: Settings) -> list[str]:
    client = await connect_with_retry(settings)
    namespace = settings.temporal_namespace
    lines = [await ensure_namespace(client, namespace)]
    # A namespace just registered takes a moment to reach every frontend.
    for attempt in range(30):
        try:
            lines += await ensure_search_attributes(client, namespace)
            break
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or attempt == 29:
                raise
            await asyncio.sleep(1)
    return lines
