"""An alias's weights: Lambda's checks in Lambda's order, and the version a draw routes to."""

from __future__ import annotations

import pytest

from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.services._lambda_routing import checked_weights, routed_version

ARN = "arn:aws:lambda:us-east-1:111111111111:function:fn"


@pytest.mark.parametrize(
    ("draw", "version"),
    [(0.0, "2"), (0.2999, "2"), (0.3, "1"), (0.9999, "1")],
)
def test_a_draw_under_the_weight_runs_the_other_version(draw: float, version: str) -> None:
    assert routed_version("1", {"2": 0.3}, draw) == version


def test_no_weight_runs_the_alias_version() -> None:
    assert routed_version("1", {"2": 0.0}, 0.0) == "1"
    assert routed_version("1", {}, 0.5) == "1"


@pytest.mark.parametrize(
    ("target", "weights", "code", "message"),
    [
        (
            "1",
            {"2": 0.5, "3": 0.1},
            "InvalidParameterValueException",
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ),
        ("1", {"2": 2}, "ValidationException", "Value '{2=2.0}' at 'routingConfig.additionalVersionWeights'"),
        ("1", {"2": -1}, "ValidationException", "Value '{2=-1.0}' at 'routingConfig.additionalVersionWeights'"),
        ("1", {"1": 0.5}, "InvalidParameterValueException", "Invalid function version 1. Function version 1 is already included"),
        ("$LATEST", {"1": 0.5}, "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version"),
        ("1", {"$LATEST": 0.5}, "ValidationException", "Map keys must satisfy constraint"),
        ("1", {"9": 0.5}, "ResourceNotFoundException", f"Function not found: {ARN}:9"),
    ],
)
def test_weights_lambda_refuses(target: str, weights: dict[str, float], code: str, message: str) -> None:
    with pytest.raises(AwsError) as refused:
        checked_weights(target, weights, lambda version: version in ("1", "2", "3"), ARN)
    assert refused.value.code == code
    assert message in str(refused.value.message)


def test_weights_lambda_accepts() -> None:
    assert checked_weights("1", {"2": 1}, lambda version: True, ARN) == {"2": 1.0}
    assert checked_weights("1", {}, lambda version: True, ARN) == {}
