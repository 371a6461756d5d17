"""The stack's Prometheus metrics: the families, and one small call for each thing that happens.

A :class:`Metrics` is made per stack (``runtime/wiring.py``) on a registry of its own, never
prometheus_client's global one: several stacks run in one test process, each with its own
counts. The runtime calls its hooks where things happen (an execution starts, a function
returns, an event is delivered...); ``GET /_sluiceway/metrics`` serves
:func:`~.exposition.exposition` of :attr:`Metrics.registry`.

Cost: a hook is a dictionary look-up for its label set and an addition under
prometheus_client's lock, and nothing is done for a scrape nobody makes (the store gauges
are read at scrape time). ``Metrics(enabled=False)`` (``SLUICEWAY_METRICS_ENABLED=false``)
makes every hook return at once.

Naming follows Prometheus's conventions: a ``sluiceway_`` prefix, base units (seconds),
``_total`` for counters, ``_seconds`` histograms, and labels from bounded sets only: names
of state machines, functions, buses, rules, queues, services and operations, statuses —
never an execution name, a request id or an object key. Each family also stops taking new
label sets at ``max_series`` (one warning), so a stack with very many resources cannot grow
the scrape without bound.

Families (labels in braces):

- executions: ``sluiceway_executions_started_total{state_machine}``,
  ``sluiceway_executions_total{state_machine,status}`` (ended, by Step Functions' status),
  ``sluiceway_executions_redriven_total{state_machine}``,
  ``sluiceway_execution_duration_seconds{state_machine}``,
  ``sluiceway_state_transitions_total{state_machine}`` (states entered),
  ``sluiceway_task_duration_seconds{state_machine,integration,status}``;
- functions: ``sluiceway_function_invocations_total``, ``_errors_total``, ``_throttles_total``,
  ``_cold_starts_total``, ``sluiceway_function_duration_seconds`` (all ``{function}``), and
  ``sluiceway_emf_validation_errors_total{function}`` (EMF lines CloudWatch would reject);
- events: ``sluiceway_events_put_total{bus}``, ``sluiceway_events_matched_total{bus,rule}``,
  ``sluiceway_events_delivered_total``, ``_failed_total`` (failed attempts),
  ``_dead_lettered_total``, ``_dropped_total`` (all ``{bus,rule,target_kind}``),
  ``sluiceway_event_delivery_lag_seconds{bus,target_kind}`` (from the event's arrival);
- data pipelines: ``sluiceway_pipeline_rows_read_total``, ``_valid_total``, ``_rejected_total``
  (``{pipeline}``);
- the endpoint: ``sluiceway_endpoint_requests_total{service,operation,status}``,
  ``sluiceway_endpoint_request_duration_seconds{service,operation}``;
- read at scrape time (:mod:`.gauges`): queue depths, dead-letter queues, running executions;
- the functions' own EMF metrics (:mod:`.emf_export`).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Concatenate, Final, ParamSpec

from prometheus_client import CollectorRegistry, Counter, Histogram

from .emf import looks_like_emf, parse_line
from .emf_export import DEFAULT_MAX_SERIES, EmfExport
from .gauges import DroppedSpans, QueueDepth, StoreGauges

logger = logging.getLogger(__name__)

__all__ = ["DURATION_BUCKETS", "LAG_BUCKETS", "REQUEST_BUCKETS", "Metrics", "task_integration"]

DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
"""Tasks and functions: from a few milliseconds to Lambda's 15-minute limit."""
EXECUTION_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
"""Executions: up to a day (Standard workflows may run a year; those land in +Inf)."""
LAG_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)
"""Event delivery: from at once to EventBridge's 24 hours of retries."""
REQUEST_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Endpoint requests."""

_SERVICE_PREFIX = "arn:aws:states:::"
_WAIT_SUFFIXES = (".waitForTaskToken", ".sync:2", ".sync")


def task_integration(resource: str) -> str:
    """A Task's ``integration`` label: ``lambda:invoke`` for a function ARN, ``sns:publish`` for
    ``arn:aws:states:::sns:publish`` (without ``.sync``/``.waitForTaskToken``), ``activity``."""
    if resource.startswith(_SERVICE_PREFIX):
        service = resource[len(_SERVICE_PREFIX) :]
        for suffix in _WAIT_SUFFIXES:
            service = service.removesuffix(suffix)
        return service
    if ":lambda:" in resource or ":function:" in resource:
        return "lambda:invoke"
    if ":activity:" in resource:
        return "activity"
    return "other"


_P = ParamSpec("_P")


def _never_raises(hook: Callable[Concatenate[Metrics, _P], None]) -> Callable[Concatenate[Metrics, _P], None]:
    """A hook whose failure is logged (a warning the first time) and never reaches the caller.

    Hooks run inside deliveries, invocations and transactions: a bug or a bad value here must not
    fail, retry or roll back the work they count.
    """

    @functools.wraps(hook)
    def guarded(metrics: Metrics, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            hook(metrics, *args, **kwargs)
        except Exception:
            first = hook.__name__ not in metrics._failed_hooks
            metrics._failed_hooks.add(hook.__name__)
            logger.log(
                logging.WARNING if first else logging.DEBUG,
                "metrics hook failed; the work it counts goes on",
                extra={"hook": hook.__name__},
                exc_info=True,
            )

    return guarded


class _Dropped:
    """The child of a label set over the limit: counts nothing."""

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


_DROPPED: Final = _Dropped()


class _Family:
    """A labelled metric whose children are cached by label values and bounded in number."""

    def __init__(self, name: str, metric: Any, limit: int) -> None:
        self._name = name
        self._metric = metric
        self._limit = limit
        self._children: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._warned = False

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is not None:
            return child
        with self._lock:
            child = self._children.get(values)
            if child is None:
                if len(self._children) >= self._limit:
                    if not self._warned:
                        self._warned = True
                        logger.warning("too many label sets for a metric: new ones are not counted", extra={"metric": self._name})
                    return _DROPPED
                child = self._children[values] = self._metric.labels(*values)
        return child


class Metrics:
    """One stack's metrics (see the module docstring).

    Args:
        enabled: False makes every hook return at once (the registry stays, empty of samples).
        max_series: label sets one family takes before new ones are dropped.
    """

    def __init__(self, *, enabled: bool = True, max_series: int = DEFAULT_MAX_SERIES) -> None:
        self.enabled = enabled
        self._failed_hooks: set[str] = set()
        self.registry = CollectorRegistry()
        """The stack's own registry (what the exposition serves)."""
        self.emf = EmfExport(max_series=max_series)
        """Functions' EMF metrics."""
        if enabled:
            self.registry.register(self.emf)

        def counter(name: str, doc: str, labels: Sequence[str]) -> _Family:
            return _Family(name + "_total", Counter(name, doc, labels, registry=self.registry if enabled else None), max_series)

        def histogram(name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]) -> _Family:
            metric = Histogram(name, doc, labels, registry=self.registry if enabled else None, buckets=buckets)
            return _Family(name, metric, max_series)

        sm, fn, ev = ["state_machine"], ["function"], ["bus", "rule", "target_kind"]
        self._started = counter("sluiceway_executions_started", "Executions started.", sm)
        self._ended = counter(
            "sluiceway_executions", "Executions ended, by status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED).", [*sm, "status"]
        )
        self._redriven = counter("sluiceway_executions_redriven", "Executions redriven (RedriveExecution).", sm)
        self._execution_seconds = histogram(
            "sluiceway_execution_duration_seconds", "How long executions ran, start to end.", sm, EXECUTION_BUCKETS
        )
        self._transitions = counter("sluiceway_state_transitions", "States entered (Step Functions' state transitions).", sm)
        self._task_seconds = histogram(
            "sluiceway_task_duration_seconds",
            "How long Task states' work took, by integration (lambda:invoke, sns:publish...) and outcome.",
            [*sm, "integration", "status"],
            DURATION_BUCKETS,
        )
        self._invocations = counter("sluiceway_function_invocations", "Function invocations that ran the handler.", fn)
        self._errors = counter("sluiceway_function_errors", "Invocations that ended in an error (Lambda's Errors).", fn)
        self._throttles = counter("sluiceway_function_throttles", "Invocations refused for the reserved concurrency.", fn)
        self._cold_starts = counter("sluiceway_function_cold_starts", "Invocations that loaded the handler first.", fn)
        self._function_seconds = histogram(
            "sluiceway_function_duration_seconds", "How long handlers ran (Lambda's Duration).", fn, DURATION_BUCKETS
        )
        self._emf_invalid = counter(
            "sluiceway_emf_validation_errors", "Embedded metric format lines from which CloudWatch would extract nothing.", fn
        )
        self._put = counter("sluiceway_events_put", "Events that reached a bus (counted when routed).", ["bus"])
        self._matched = counter("sluiceway_events_matched", "Events that matched a rule.", ["bus", "rule"])
        self._delivered = counter("sluiceway_events_delivered", "Events delivered to a rule's target.", ev)
        self._failed = counter("sluiceway_events_failed", "Delivery attempts that failed (EventBridge's FailedInvocations).", ev)
        self._dead_lettered = counter("sluiceway_events_dead_lettered", "Events sent to a target's dead-letter queue.", ev)
        self._dropped = counter("sluiceway_events_dropped", "Events given up on without a dead-letter queue to take them.", ev)
        self._lag = histogram(
            "sluiceway_event_delivery_lag_seconds",
            "From an event's arrival on its bus to its delivery to a target.",
            ["bus", "target_kind"],
            LAG_BUCKETS,
        )
        pl = ["pipeline"]
        self._rows_read = counter("sluiceway_pipeline_rows_read", "Records data pipelines read.", pl)
        self._rows_valid = counter("sluiceway_pipeline_rows_valid", "Records data pipelines kept.", pl)
        self._rows_rejected = counter("sluiceway_pipeline_rows_rejected", "Records data pipelines rejected.", pl)
        self._requests = counter(
            "sluiceway_endpoint_requests",
            "Requests the endpoint answered, by AWS service, operation and HTTP status.",
            ["service", "operation", "status"],
        )
        self._request_seconds = histogram(
            "sluiceway_endpoint_request_duration_seconds",
            "How long the endpoint took to answer.",
            ["service", "operation"],
            REQUEST_BUCKETS,
        )

    def watch_stores(self, queues: Callable[[], Iterable[QueueDepth]], running: Callable[[], Mapping[str, int]]) -> None:
        """Read queue depths and running executions at each scrape (see :class:`~.gauges.StoreGauges`)."""
        if self.enabled:
            self.registry.register(StoreGauges(queues, running))

    def watch_tracing(self, dropped: Callable[[], int]) -> None:
        """Read the spans tracing could not export at each scrape (a full queue, a failed export)."""
        if self.enabled:
            self.registry.register(DroppedSpans(dropped))

    # -- executions ------------------------------------------------------------------------

    @_never_raises
    def execution_started(self, state_machine: str) -> None:
        if self.enabled:
            self._started(state_machine).inc()

    @_never_raises
    def execution_redriven(self, state_machine: str) -> None:
        if self.enabled:
            self._redriven(state_machine).inc()

    @_never_raises
    def execution_ended(self, state_machine: str, status: str, seconds: float | None) -> None:
        if not self.enabled:
            return
        self._ended(state_machine, status).inc()
        if seconds is not None:
            self._execution_seconds(state_machine).observe(max(0.0, seconds))

    @_never_raises
    def states_entered(self, state_machine: str, history: Iterable[Mapping[str, Any]]) -> None:
        """Count the ``*StateEntered`` events of a step's new history."""
        if not self.enabled:
            return
        entered = sum(1 for event in history if str(event.get("type", "")).endswith("StateEntered"))
        if entered:
            self._transitions(state_machine).inc(entered)

    @_never_raises
    def task_finished(self, state_machine: str, resource: str, succeeded: bool, seconds: float) -> None:
        """A Task's work ended (``resource``: the state's Resource, see :func:`task_integration`)."""
        if self.enabled:
            status = "SUCCEEDED" if succeeded else "FAILED"
            self._task_seconds(state_machine, task_integration(resource), status).observe(seconds)

    # -- functions -------------------------------------------------------------------------

    @_never_raises
    def function_invoked(self, function: str, seconds: float, *, error: bool, cold_start: bool) -> None:
        """A handler ran (or its worker was lost running it)."""
        if not self.enabled:
            return
        self._invocations(function).inc()
        self._function_seconds(function).observe(seconds)
        if error:
            self._errors(function).inc()
        if cold_start:
            self._cold_starts(function).inc()

    @_never_raises
    def function_throttled(self, function: str) -> None:
        if self.enabled:
            self._throttles(function).inc()

    @_never_raises
    def function_output(self, function: str, events: Iterable[tuple[int, str]]) -> None:
        """Export the EMF lines among an invocation's log events ``(ms, message)``; other lines are just logs."""
        if not self.enabled:
            return
        for stamp, message in events:
            if not looks_like_emf(message):
                continue
            extraction = parse_line(message, now_ms=stamp)
            if extraction is None:
                continue
            if extraction.problem is not None:
                self._emf_invalid(function).inc()
                logger.debug("EMF line not exported", extra={"function": function, "problem": extraction.problem})
                continue
            self.emf.add(extraction.points)

    # -- events ----------------------------------------------------------------------------

    @_never_raises
    def event_routed(self, bus: str, rules: Iterable[str]) -> None:
        """An event reached ``bus`` and matched ``rules`` (a rule once, whatever its targets)."""
        if not self.enabled:
            return
        self._put(bus).inc()
        for rule in set(rules):
            self._matched(bus, rule).inc()

    @_never_raises
    def event_delivered(self, bus: str, rule: str, target_kind: str, lag_seconds: float) -> None:
        if not self.enabled:
            return
        self._delivered(bus, rule, target_kind).inc()
        self._lag(bus, target_kind).observe(max(0.0, lag_seconds))

    @_never_raises
    def event_failed(self, bus: str, rule: str, target_kind: str) -> None:
        if self.enabled:
            self._failed(bus, rule, target_kind).inc()

    @_never_raises
    def event_dead_lettered(self, bus: str, rule: str, target_kind: str) -> None:
        if self.enabled:
            self._dead_lettered(bus, rule, target_kind).inc()

    @_never_raises
    def event_dropped(self, bus: str, rule: str, target_kind: str) -> None:
        if self.enabled:
            self._dropped(bus, rule, target_kind).inc()

    # -- data pipelines ----------------------------------------------------------------------

    @_never_raises
    def pipeline_rows(self, pipeline: str, *, read: int, valid: int, rejected: int) -> None:
        """One run's records (from its metadata record)."""
        if not self.enabled:
            return
        self._rows_read(pipeline).inc(read)
        self._rows_valid(pipeline).inc(valid)
        self._rows_rejected(pipeline).inc(rejected)

    # -- the endpoint --------------------------------------------------------------------------

    @_never_raises
    def endpoint_request(self, service: str, operation: str, status: int | str, seconds: float) -> None:
        """The endpoint answered a request of ``service``'s ``operation`` with HTTP ``status``."""
        if not self.enabled:
            return
        self._requests(service, operation, str(status)).inc()
        self._request_seconds(service, operation).observe(seconds)
