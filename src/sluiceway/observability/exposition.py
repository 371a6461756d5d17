"""``GET /_sluiceway/metrics``: a registry in Prometheus's text format, or OpenMetrics when asked.

Prometheus 2.x asks for OpenMetrics first in its ``Accept`` header; ``curl`` and older
scrapers get the classic text format (``text/plain; version=0.0.4``). The ``_created``
samples prometheus_client adds to counters and histograms are left out: they double the
series and no query here needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Final

from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

__all__ = ["METRICS_PATH", "OPENMETRICS_CONTENT_TYPE", "TEXT_CONTENT_TYPE", "exposition"]

# prometheus_client's OpenMetrics writer has no annotations; this is its signature.
_openmetrics_text: Callable[[Collector], bytes] = openmetrics.generate_latest

METRICS_PATH: Final = "/_sluiceway/metrics"
TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class _WithoutCreated(Collector):
    def __init__(self, registry: Collector) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self._registry.collect():
            samples = [sample for sample in metric.samples if not sample.name.endswith("_created")]
            if len(samples) != len(metric.samples):
                metric.samples = samples
            yield metric


def wants_openmetrics(accept: str | None) -> bool:
    """Whether an ``Accept`` header takes OpenMetrics (at any quality above zero)."""
    for part in (accept or "").split(","):
        media, *params = (token.strip() for token in part.split(";"))
        if media.lower() == "application/openmetrics-text" and not any(p.replace(" ", "") in ("q=0", "q=0.0") for p in params):
            return True
    return False


def exposition(registry: Collector, headers: Mapping[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` answering a scrape of ``registry``.

    Args:
        registry: the stack's registry (``stack.metrics.registry``).
        headers: the request's headers, names lower-cased (``accept`` is read).
        method: ``GET`` or ``HEAD`` (no body); anything else is answered 405.
    """
    if method not in ("GET", "HEAD"):
        body = b"use GET\n"
        return 405, {"Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(body))}, body
    source = _WithoutCreated(registry)
    if wants_openmetrics((headers or {}).get("accept")):
        body, content_type = _openmetrics_text(source), OPENMETRICS_CONTENT_TYPE
    else:
        body, content_type = text_format.generate_latest(source), TEXT_CONTENT_TYPE
    answer = {"Content-Type": content_type, "Content-Length": str(len(body)), "Cache-Control": "no-store"}
    return 200, answer, b"" if method == "HEAD" else body
