"""Optional Prometheus metrics: questions, answered share, latency, gateway latency."""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)


class Metrics:
    """Counters kept per process; exposed over HTTP only when a port is configured."""

    def __init__(self, latency_source: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "dealbot_questions",
            "Questions answered or declined",
            ["answered"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dealbot_answer_seconds",
            "Time to build an answer",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.gateway = Gauge(
            "dealbot_gateway_latency_seconds",
            "Discord gateway heartbeat latency",
            registry=self.registry,
        )
        if latency_source is not None:
            self.gateway.set_function(lambda: _finite(latency_source()))

    def observe(self, answered: bool, seconds: float) -> None:
        """Count one question and its answer time."""
        self.questions.labels(answered="yes" if answered else "no").inc()
        self.latency.observe(seconds)

    def serve(self, host: str, port: int) -> None:
        """Expose /metrics on host:port (127.0.0.1 unless configured otherwise)."""
        start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, port)


def _finite(value: float) -> float:
    return value if value == value and value not in (float("inf"), float("-inf")) else 0.0
