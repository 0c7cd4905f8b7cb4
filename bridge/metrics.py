"""Prometheus metrics, one registry per running bridge (tests run several side by side)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "smschat_messages_in", "Inbound texts stored", registry=self.registry
        )
        self.messages_out = Counter(
            "smschat_messages_out", "Staff replies accepted for sending", registry=self.registry
        )
        self.webhooks_refused = Counter(
            "smschat_webhooks_refused",
            "Webhooks answered with a 4xx",
            ["reason"],
            registry=self.registry,
        )
        self.webhooks_deferred = Counter(
            "smschat_webhooks_deferred",
            "Webhooks answered 503 because the store could not keep them (the sender retries)",
            registry=self.registry,
        )
        self.jobs = Counter(
            "smschat_outbox_jobs",
            "Outbox job attempts by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "smschat_outbox_depth", "Jobs waiting or running", registry=self.registry
        )
        self.outbox_dead = Gauge(
            "smschat_outbox_dead", "Jobs given up (dead letters)", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
