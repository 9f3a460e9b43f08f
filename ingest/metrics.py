"""Prometheus metrics of the ingest service, served at GET /metrics.

Each app gets its own registry, so several apps (tests, benches) can live in one process.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("leadflow_ingest_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.rejections = Counter("leadflow_ingest_rejections",
                                  "Refused requests by endpoint and reason (bad-signature, "
                                  "too-large, invalid-fields, temporal-unavailable, ...)",
                                  ["endpoint", "reason"], registry=self.registry)
        self.actions = Counter("leadflow_ingest_actions",
                               "Lead actions delivered to Temporal (signal, merge, delete) or "
                               "skipped, by source", ["source", "outcome"], registry=self.registry)
        self.signal_latency = Histogram("leadflow_ingest_signal_latency_seconds",
                                        "Time until Temporal accepted one signal (with start), "
                                        "merge or delete", ["operation"],
                                        buckets=LATENCY_BUCKETS, registry=self.registry)
        self.request_latency = Histogram("leadflow_ingest_request_duration_seconds",
                                         "Time to answer a request, by endpoint", ["endpoint"],
                                         buckets=LATENCY_BUCKETS, registry=self.registry)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
