"""An alias's routing configuration: Lambda's checks of its weights, and the version an invocation runs.

Shared by the API's CreateAlias/UpdateAlias (``_lambda_settings.py``) and a template's
``AWS::Lambda::Alias`` (``cfn/resources/functions.py``), so that both refuse what Lambda refuses, in
Lambda's words, before anything is kept: a kept alias is then always one an invocation can route.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import AwsError

__all__ = ["checked_weights", "routed_version"]

_VERSION = re.compile(r"[0-9]+")


def checked_weights(target: str, weights: Mapping[str, Any], exists: Callable[[str], bool], function_arn: str) -> dict[str, float]:
    """``AdditionalVersionWeights`` as Lambda accepts it for an alias of version ``target``, or Lambda's error.

    Lambda's order (recorded against AWS): the count, then each weight's range, a weight on the
    alias's own version, an alias of ``$LATEST``, the version's form, and last whether it exists
    (``exists(version)``; ``function_arn`` names the function in that error).
    """
    if len(weights) > 1:
        raise AwsError(
            "InvalidParameterValueException",
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
            fields={"Type": "User"},
        )
    checked: dict[str, float] = {}
    for version, weight in weights.items():
        number = _number(weight)
        # Lambda quotes the map entry as Java prints it ({2=2.0}); Python's repr agrees except for
        # exponents (1e-05 where Java prints 1.0E-5), not confirmed against AWS.
        shown = f"{{{version}={weight if number is None else repr(number)}}}"
        if number is None or not 0.0 <= number <= 1.0:
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value '{shown}' at 'routingConfig.additionalVersionWeights' failed to satisfy"
                " constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0,"
                " Member must have value greater than or equal to 0.0, Member must not be null]",
            )
        if version == target:
            raise AwsError(
                "InvalidParameterValueException",
                f"Invalid function version {target}. Function version {target} is already included in routing configuration.",
                fields={"Type": "User"},
            )
        if target == "$LATEST":
            raise AwsError("InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version")
        if not (_VERSION.fullmatch(version) and len(version) <= 1024):
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value '{shown}' at 'routingConfig.additionalVersionWeights' failed to satisfy"
                " constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024,"
                " Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]",
            )
        if not exists(version):
            raise AwsError("ResourceNotFoundException", f"Function not found: {function_arn}:{version}", 404, fields={"Type": "User"})
        checked[version] = number
    return checked


def routed_version(target: str, weights: Mapping[str, Any], draw: float) -> str:
    """The version an invocation of an alias runs, for a uniform ``draw`` in [0, 1).

    Each additional version takes its weight's share of the draws, the alias's own version the rest
    (Lambda routes each invocation at random by the weights).
    """
    for version, weight in weights.items():
        share = _number(weight) or 0.0
        if draw < share:
            return str(version)
        draw -= share
    return target


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
