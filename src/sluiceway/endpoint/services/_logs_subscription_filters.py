"""CloudWatch Logs' subscription filter operations: PutSubscriptionFilter, DescribeSubscriptionFilters, DeleteSubscriptionFilter.

Filters are kept in the data dir (``backends/local/subscription_filters.py``); the stack's
subscription feed (``backends/local/_cw_subscription_feed.py``) delivers the events put into their
log groups from then on that match their pattern. Destinations are those AWS takes for
same-account delivery and Sluiceway serves: a Lambda function (no ``roleArn``) and a Kinesis
stream (with one). A Firehose delivery stream or a logical destination (``PutDestination``) is
refused, as AWS refuses a destination that does not exist: neither is served locally.

The checks follow AWS's recorded answers: a Lambda function of another account is refused with
AccessDeniedException before the log group is looked at; a Kinesis stream without ``roleArn``,
a function with one, a missing destination are InvalidParameterException; a third filter on a
group is LimitExceededException ("Resource limit exceeded."). Lambda's permission for
``logs.amazonaws.com`` (its resource policy) is not checked locally.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from ...backends.local._cw_subscription_feed import control_message
from ...backends.local.kinesis.store import PutEntry
from ...backends.local.subscription_filters import SqliteSubscriptionFilters, SubscriptionFilter, TooManySubscriptionFiltersError
from ...errors import NotFoundError
from ..context import Context
from ..errors import AwsError
from ._kinesis_common import kinesis
from ._lambda_catalog import catalog
from ._logs_common import OPERATIONS, _decode, _encode, _group_name, _invalid, _limit, _no_group, _store
from ._logs_filter import FilterPatternError, compile_pattern
from ._logs_metric_filters import _Problems

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS", "subscription_filters"]

DISTRIBUTIONS: Final = ("Random", "ByLogStream")
"""The model's enum, in its order (AWS's enum message lists them so)."""
_FILTER_NAME: Final = re.compile(r"^[^:*]*$")
_CROSS_ACCOUNT_LAMBDA: Final = (
    "Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create cross account lambda triggers."
)
_LAMBDA_UNREACHABLE: Final = (
    "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function."
)
_DESTINATION_INVALID: Final = "Could not deliver test message to specified destination. Check if the destination is valid."
"""What AWS answers when its test message to a Kinesis or Firehose destination fails (recorded for a
stream that refused it; assumed the same for one that does not exist)."""


def subscription_filters(ctx: Context) -> SqliteSubscriptionFilters:
    """The data dir's subscription filters, in its state database."""
    local = ctx.stack.local
    return ctx.shared.get("logs-subscription-filters", lambda: SqliteSubscriptionFilters(local.db, local.clock))


def _check_name(problems: _Problems, name: str | None, member: str = "filterName", *, least: int = 1) -> None:
    problems.length(name, member, 512, least=least)
    problems.pattern(name, member, _FILTER_NAME, "[^:*]*")


# -- PutSubscriptionFilter -----------------------------------------------------------------


@OPERATIONS("PutSubscriptionFilter")
def put_subscription_filter(ctx: Context, params: dict[str, Any]) -> None:
    group_param, name, pattern_text = params["logGroupName"], params["filterName"], params["filterPattern"]
    destination, role = params["destinationArn"], params.get("roleArn")
    distribution = params.get("distribution")
    problems = _Problems()
    _check_name(problems, name)
    problems.length(pattern_text, "filterPattern", 1024)
    problems.length(destination, "destinationArn", 2048, least=1)
    if role is not None:
        problems.length(role, "roleArn", 2048, least=1)
    if distribution is not None and distribution not in DISTRIBUTIONS:
        problems.add(
            f"Value '{distribution}' at 'distribution' failed to satisfy constraint:"
            f" Member must satisfy enum value set: [{', '.join(DISTRIBUTIONS)}]"
        )
    selection = params.get("fieldSelectionCriteria")
    problems.length(selection, "fieldSelectionCriteria", 2000)
    problems.raise_any()
    group = _group_name(group_param)
    _check_destination(ctx, destination, role)
    try:
        compile_pattern(pattern_text)
    except FilterPatternError:
        # Unrecorded: the words of the metric filter's answer, for a subscription filter.
        raise _invalid("Invalid subscription filter pattern") from None
    store = _store(ctx)
    if not store.has_group(group):
        raise _no_group()
    _check_reachable(ctx, destination)
    fields = params.get("emitSystemFields")
    record = SubscriptionFilter(
        log_group=group,
        name=name,
        pattern=pattern_text,
        destination_arn=destination,
        role_arn=role,
        distribution=distribution or "ByLogStream",
        transformed=bool(params.get("applyOnTransformedLogs")),
        selection=selection,
        system_fields=None if fields is None else tuple(str(f) for f in fields),
        created_ms=0,
        applies_after=0,
    )
    try:
        subscription_filters(ctx).put(record, after_event=store.last_event_id())
    except TooManySubscriptionFiltersError:
        raise AwsError("LimitExceededException", "Resource limit exceeded.") from None
    if _service(destination) == "kinesis":
        # CloudWatch Logs checks a stream by putting a control message into it, which stays there.
        streams = kinesis(ctx)
        stream_arn = streams.stream_arn(destination)
        if stream_arn is not None:
            streams.put(stream_arn, [PutEntry("CloudwatchLogs", control_message(store.clock_ms()))])
    _warn_of_loop(ctx, group, destination)


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


def _check_destination(ctx: Context, destination: str, role: str | None) -> None:
    """What AWS refuses of a destination before it looks at the log group."""
    parts = destination.split(":")
    service = _service(destination)
    if service == "lambda":
        if parts[4] != ctx.stack.settings.account_id:
            raise AwsError("AccessDeniedException", _CROSS_ACCOUNT_LAMBDA)
        if role is not None:
            raise _invalid("destinationArn for vendor lambda cannot be used with roleArn")
    elif service in ("kinesis", "firehose"):
        if role is None:
            raise _invalid(f"destinationArn for vendor {service} cannot be used without roleArn")
    elif service == "logs":
        # A logical destination (PutDestination) of another account: not served locally.
        raise _invalid(_DESTINATION_INVALID)
    else:
        # Unrecorded: AWS's words for a destination of a service it never delivers to.
        raise _invalid(f"PutSubscriptionFilter operation cannot work with destinationArn for vendor {service or destination}")


def _check_reachable(ctx: Context, destination: str) -> None:
    """AWS tries the destination (Lambda's permission, a test message to a stream): it must exist."""
    service = _service(destination)
    if service == "lambda":
        catalog(ctx)  # functions made through the API are registered again after a restart
        name = ctx.stack.invoker.resolve(destination)
        if name is None:
            raise _invalid(_LAMBDA_UNREACHABLE)
        if ctx.stack.invoker.functions[name].tenancy_mode is not None:
            # Lambda's tenant isolation takes requests only from Invoke and API Gateway; CloudWatch Logs
            # names no tenant, so the function refuses its test invocation (and every delivery after it).
            # Logs words a refused test invocation so; unconfirmed for this cause.
            raise _invalid(_LAMBDA_UNREACHABLE)
    elif service == "kinesis":
        if kinesis(ctx).stream_arn(destination) is None:
            raise _invalid(_DESTINATION_INVALID)
    else:  # firehose: Sluiceway serves no delivery streams, so none exists
        logger.warning(
            "a subscription to a Firehose delivery stream was refused: Firehose is not served", extra={"destination": destination}
        )
        raise _invalid(_DESTINATION_INVALID)


def _warn_of_loop(ctx: Context, group: str, destination: str) -> None:
    """A function subscribed to its own log group runs for the lines its runs write: on AWS a loop
    (and a bill) that is the user's to avoid; locally bounded by the feed's pace, but worth a word."""
    if _service(destination) != "lambda":
        return
    name = ctx.stack.invoker.resolve(destination)
    if name is not None and group == f"/aws/lambda/{name}":
        logger.warning("a function is subscribed to its own log group: each run's lines invoke it again", extra={"function": name})


# -- DescribeSubscriptionFilters / DeleteSubscriptionFilter ----------------------------------


@OPERATIONS("DescribeSubscriptionFilters")
def describe_subscription_filters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("filterNamePrefix") or ""
    problems = _Problems()
    _check_name(problems, params.get("filterNamePrefix"), "filterNamePrefix")
    problems.raise_any()
    group = _group_name(params["logGroupName"])
    limit = _limit(params.get("limit"), 50, 50)
    after = _decode(params.get("nextToken"))
    if not _store(ctx).has_group(group):
        raise _no_group()
    found = subscription_filters(ctx).describe(group, prefix=prefix, after=after, limit=limit + 1)
    page = found[:limit]
    out: dict[str, Any] = {"subscriptionFilters": [_described(f) for f in page]}
    if len(found) > limit:
        out["nextToken"] = _encode(page[-1].name)
    return out


def _described(record: SubscriptionFilter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filterName": record.name,
        "logGroupName": record.log_group,
        "filterPattern": record.pattern,
        "destinationArn": record.destination_arn,
    }
    if record.role_arn is not None:
        out["roleArn"] = record.role_arn
    # AWS answers the distribution for every destination, ByLogStream unless Random was asked for.
    out["distribution"] = record.distribution
    out["applyOnTransformedLogs"] = record.transformed
    if record.selection is not None:
        out["fieldSelectionCriteria"] = record.selection
    if record.system_fields is not None:
        out["emitSystemFields"] = list(record.system_fields)
    out["creationTime"] = record.created_ms
    return out


@OPERATIONS("DeleteSubscriptionFilter")
def delete_subscription_filter(ctx: Context, params: dict[str, Any]) -> None:
    name = params["filterName"]
    problems = _Problems()
    _check_name(problems, name)
    problems.raise_any()
    group = _group_name(params["logGroupName"])
    if not _store(ctx).has_group(group):
        raise _no_group()
    try:
        subscription_filters(ctx).delete(group, name)
    except NotFoundError:
        raise AwsError("ResourceNotFoundException", "The specified subscription filter does not exist.") from None
