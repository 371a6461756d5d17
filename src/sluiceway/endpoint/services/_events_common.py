"""What EventBridge's operations share: the registry, names and ARNs, errors, pages, tags."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from ...errors import ConflictError, EventPatternError, NotFoundError
from ...events.bus_policy import BusPolicyError
from ...events.rules import DEFAULT_BUS, RuleValidationError, bus_arn
from ..context import Context, Handler, Operations
from ..errors import AwsError

__all__ = [
    "BUS_NAME",
    "OPERATIONS",
    "arn_of_bus",
    "bus_name",
    "check_name",
    "constraint",
    "operation",
    "page",
    "tags_in",
    "tags_out",
    "validation",
]

OPERATIONS = Operations("events")

T = TypeVar("T")

_NAME: Final = re.compile(r"[\.\-_A-Za-z0-9]+")
#: EventBusName's pattern in EventBridge's model ('/' is for partner buses).
BUS_NAME: Final = re.compile(r"[/\.\-_A-Za-z0-9]+")
_BUS_OR_ARN: Final = re.compile(r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+")
_MAX_PAGE: Final = 100


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def constraint(value: Any, member: str, rule: str) -> AwsError:
    """AWS's wording for a member that breaks the model's constraints."""
    return validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}")


def check_name(value: Any, member: str, *, maximum: int = 64, pattern: re.Pattern[str] = _NAME) -> str:
    """A rule, archive or replay name as EventBridge's model constrains it."""
    if not isinstance(value, str) or len(value) > maximum:
        raise constraint(value, member, f"Member must have length less than or equal to {maximum}")
    if not pattern.fullmatch(value):
        raise constraint(value, member, f"Member must satisfy regular expression pattern: {pattern.pattern}")
    return value


def bus_name(value: Any, member: str = "eventBusName") -> str:
    """The bus named by an EventBusName (a name, or an event bus ARN); ``default`` when absent."""
    if value is None or value == "":
        return DEFAULT_BUS
    if not isinstance(value, str) or len(value) > 1600 or not _BUS_OR_ARN.fullmatch(value):
        raise constraint(value, member, f"Member must satisfy regular expression pattern: {_BUS_OR_ARN.pattern}")
    return value.rsplit("event-bus/", 1)[-1] if value.startswith("arn:") else value


def arn_of_bus(ctx: Context, name: str) -> str:
    return bus_arn(name, region=ctx.region, account=ctx.account_id)


@contextmanager
def _events_errors() -> Iterator[None]:
    """Our errors as EventBridge answers them (every EventBridge error is a 400 but InternalException)."""
    try:
        yield
    except EventPatternError as exc:
        raise AwsError("InvalidEventPatternException", str(exc)) from None
    except NotFoundError as exc:
        raise AwsError("ResourceNotFoundException", str(exc)) from None
    except ConflictError as exc:
        raise AwsError("ResourceAlreadyExistsException", str(exc)) from None
    except RuleValidationError as exc:
        raise validation(str(exc)) from None
    except BusPolicyError as exc:
        raise AwsError(exc.code, exc.message) from None


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register an EventBridge operation whose backend errors answer as EventBridge's."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            with _events_errors():
                return handler(ctx, params)

        return OPERATIONS(name)(run)

    return register


def page(items: Sequence[T], key: Callable[[T], str], params: dict[str, Any]) -> tuple[list[T], str | None]:
    """One page of ``items`` (in ``key`` order) after ``params``' NextToken, at most its Limit (100 by default)."""
    limit = params.get("Limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE):
        raise constraint(limit, "limit", f"Member must have value less than or equal to {_MAX_PAGE}")
    token = params.get("NextToken")
    rest = list(items)
    if token:
        try:
            after = json.loads(base64.b64decode(token, validate=True))["after"]
        except (ValueError, KeyError, TypeError):
            raise validation("The NextToken provided is invalid.") from None
        rest = [i for i in rest if key(i) > after]
    size = limit or _MAX_PAGE
    if len(rest) <= size:
        return rest, None
    shown = rest[:size]
    return shown, base64.b64encode(json.dumps({"after": key(shown[-1])}).encode()).decode()


def tags_in(value: Any) -> dict[str, str]:
    """AWS's Tags list (``[{"Key", "Value"}]``) as a mapping; a key given twice is refused, as AWS does."""
    out: dict[str, str] = {}
    for tag in value or []:
        key, text = tag.get("Key"), tag.get("Value")
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not isinstance(text, str) or len(text) > 256:
            raise validation("Invalid tag: a tag's Key is 1 to 128 characters and its Value at most 256.")
        if key in out:
            raise validation("Invalid parameter: Duplicated keys are not allowed.")
        out[key] = text
    return out


def tags_out(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]
