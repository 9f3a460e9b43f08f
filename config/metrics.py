"""Prometheus metrics: the Temporal SDK's own (task latencies, slots, polls) plus leadflow's counters.

leadflow's counters are recorded through Temporal's metric meters, so they land on the same
endpoint as the SDK's and stay replay-safe inside workflows (a replayed task records nothing):

- `leadflow_stage_transitions` {playbook, from_stage, to_stage}: a lead entered a stage
- `leadflow_sla_breaches` {playbook, stage}: a stage's SLA ran out before its expected action
- `leadflow_vendor_syncs` {vendor, outcome=ok|rejected|error}: one sync of a lead to a vendor

The worker serves them at http://LEADFLOW_METRICS_HOST:LEADFLOW_METRICS_PORT/metrics.
"""

from __future__ import annotations

from functools import cache

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

STAGE_TRANSITIONS = "leadflow_stage_transitions"
SLA_BREACHES = "leadflow_sla_breaches"
VENDOR_SYNCS = "leadflow_vendor_syncs"


@cache
def prometheus_runtime(host: str, port: int) -> Runtime:
    """One runtime per process and address: the endpoint binds its port once."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))


def runtime_for(host: str, port: int | None) -> Runtime | None:
    """The runtime a worker's client should use; None (the SDK's default, no endpoint) when unset."""
    return None if port is None else prometheus_runtime(host, port)
