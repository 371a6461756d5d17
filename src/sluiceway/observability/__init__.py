"""Observability: the stack's Prometheus metrics, functions' EMF metrics, and their exposition.

- :mod:`.metrics`: :class:`~.metrics.Metrics`, one per stack, its families and hooks.
- :mod:`.gauges`: gauges read from the durable stores at scrape time.
- :mod:`.emf`: CloudWatch's Embedded Metric Format, parsed and checked (pure).
- :mod:`.emf_export`: EMF data points as Prometheus metrics.
- :mod:`.exposition`: ``GET /_sluiceway/metrics``.
"""
