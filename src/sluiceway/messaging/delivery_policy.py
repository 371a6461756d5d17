"""When SNS tries a delivery again: the delivery policy, as data.

:class:`DeliveryPolicy` is SNS's ``healthyRetryPolicy`` (its four phases and the
delay before each retry), read from and printed as SNS's ``DeliveryPolicy`` JSON;
the constants are the policies SNS applies per protocol, and :func:`default_policy`
picks one for a subscription that sets none.

The module is pure: the delivery loop (:mod:`sluiceway.runtime.messaging.delivery`)
asks it how long to wait and keeps the clock itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .errors import InvalidParameterError

__all__ = [
    "AWS_MANAGED_POLICY",
    "CUSTOMER_MANAGED_POLICY",
    "HTTP_DEFAULT_POLICY",
    "LAMBDA_ASYNC_POLICY",
    "DeliveryPolicy",
    "default_policy",
]


@dataclass(frozen=True)
class DeliveryPolicy:
    """When SNS tries a delivery again: its ``healthyRetryPolicy``, in four phases.

    After the first attempt come ``num_no_delay_retries`` immediate retries, then
    ``num_min_delay_retries`` retries ``min_delay_target_s`` apart, then the backoff
    phase (from the smallest to the largest delay, shaped by ``backoff_function``),
    then ``num_max_delay_retries`` retries ``max_delay_target_s`` apart.
    ``num_retries`` counts them all.
    """

    num_retries: int = 3
    min_delay_target_s: float = 20
    max_delay_target_s: float = 20
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    backoff_function: Literal["linear", "arithmetic", "geometric", "exponential"] = "linear"

    def __post_init__(self) -> None:
        counts = (
            self.num_retries,
            self.num_no_delay_retries,
            self.num_min_delay_retries,
            self.num_max_delay_retries,
        )
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in counts):
            raise InvalidParameterError("Invalid parameter: DeliveryPolicy: retry counts must be whole numbers >= 0")
        if sum(counts[1:]) > self.num_retries:
            raise InvalidParameterError(
                "Invalid parameter: DeliveryPolicy: numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries"
            )
        if not 0 < self.min_delay_target_s <= self.max_delay_target_s:
            raise InvalidParameterError("Invalid parameter: DeliveryPolicy: minDelayTarget must be positive and at most maxDelayTarget")
        if self.backoff_function not in ("linear", "arithmetic", "geometric", "exponential"):
            raise InvalidParameterError(
                f"Invalid parameter: DeliveryPolicy: backoffFunction must be linear, arithmetic, geometric or"
                f" exponential, not {self.backoff_function!r}"
            )

    @property
    def backoff_retries(self) -> int:
        return self.num_retries - self.num_no_delay_retries - self.num_min_delay_retries - self.num_max_delay_retries

    def delay_s(self, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` (1 = the first retry); None when none is left."""
        if retry < 1 or retry > self.num_retries:
            return None
        if retry <= self.num_no_delay_retries:
            return 0.0
        retry -= self.num_no_delay_retries
        if retry <= self.num_min_delay_retries:
            return float(self.min_delay_target_s)
        retry -= self.num_min_delay_retries
        steps = self.backoff_retries
        if retry <= steps:
            return self._backoff(retry, steps)
        return float(self.max_delay_target_s)

    def _backoff(self, step: int, steps: int) -> float:
        low, high = float(self.min_delay_target_s), float(self.max_delay_target_s)
        if steps <= 1 or low == high:
            return high if steps == 1 else low
        # SNS publishes the shapes (curves from the smallest to the largest delay), not
        # their formulas; these keep both ends and rise the way SNS's diagrams do.
        fraction = (step - 1) / (steps - 1)
        if self.backoff_function == "exponential":
            return float(low * (high / low) ** fraction)
        if self.backoff_function == "geometric":
            return low + (high - low) * fraction**3
        if self.backoff_function == "arithmetic":
            return low + (high - low) * fraction**2
        return low + (high - low) * fraction

    @classmethod
    def from_aws(cls, doc: Mapping[str, Any] | str) -> DeliveryPolicy:
        """Read SNS's ``DeliveryPolicy`` (``{"healthyRetryPolicy": {...}}``, or its JSON text).

        Raises:
            InvalidParameterError: not JSON, unknown keys, or values SNS refuses; the total
                retry time above 3,600 seconds (SNS's hard limit for HTTP/S).
        """
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except ValueError:
                raise InvalidParameterError("Invalid parameter: DeliveryPolicy: failed to parse JSON") from None
        if not isinstance(doc, Mapping):
            raise InvalidParameterError("Invalid parameter: DeliveryPolicy: failed to parse JSON")
        healthy = doc.get("healthyRetryPolicy", doc)
        if not isinstance(healthy, Mapping):
            raise InvalidParameterError("Invalid parameter: DeliveryPolicy: healthyRetryPolicy must be an object")
        names = {
            "numRetries": "num_retries",
            "minDelayTarget": "min_delay_target_s",
            "maxDelayTarget": "max_delay_target_s",
            "numNoDelayRetries": "num_no_delay_retries",
            "numMinDelayRetries": "num_min_delay_retries",
            "numMaxDelayRetries": "num_max_delay_retries",
            "backoffFunction": "backoff_function",
        }
        unknown = set(healthy) - set(names)
        if unknown:
            raise InvalidParameterError(f"Invalid parameter: DeliveryPolicy: unknown keys {', '.join(sorted(unknown))}")
        policy = cls(**{names[k]: v for k, v in healthy.items()})
        if policy.max_delay_target_s > 3600 or policy.total_retry_s() > 3600:
            raise InvalidParameterError("Invalid parameter: DeliveryPolicy: the total retry time must not exceed 3600 seconds")
        return policy

    def to_aws(self) -> dict[str, Any]:
        """SNS's ``DeliveryPolicy`` document."""
        return {
            "healthyRetryPolicy": {
                "numRetries": self.num_retries,
                "minDelayTarget": self.min_delay_target_s,
                "maxDelayTarget": self.max_delay_target_s,
                "numNoDelayRetries": self.num_no_delay_retries,
                "numMinDelayRetries": self.num_min_delay_retries,
                "numMaxDelayRetries": self.num_max_delay_retries,
                "backoffFunction": self.backoff_function,
            }
        }

    def total_retry_s(self) -> float:
        """Seconds from the first failure to the last retry, without jitter."""
        return sum(self.delay_s(n) or 0.0 for n in range(1, self.num_retries + 1))


AWS_MANAGED_POLICY: Final = DeliveryPolicy(
    num_retries=100_015,
    min_delay_target_s=1,
    max_delay_target_s=20,
    num_no_delay_retries=3,
    num_min_delay_retries=2,
    num_max_delay_retries=100_000,
    backoff_function="exponential",
)
"""SNS's policy for SQS and Lambda: 3 at once, 2 a second apart, 10 backing off from 1 to 20 s,
100,000 twenty seconds apart (23 days). Sluiceway's outbox uses it too."""
CUSTOMER_MANAGED_POLICY: Final = DeliveryPolicy(
    num_retries=50,
    min_delay_target_s=10,
    max_delay_target_s=600,
    num_no_delay_retries=0,
    num_min_delay_retries=2,
    num_max_delay_retries=38,
    backoff_function="exponential",
)
"""SNS's policy for SMTP (email): 2 ten seconds apart, 10 backing off from 10 to 600 s, 38 ten
minutes apart (about 6 hours)."""
HTTP_DEFAULT_POLICY: Final = DeliveryPolicy()
"""SNS's default for HTTP/S: three retries, 20 seconds apart; a subscription may set its own."""
LAMBDA_ASYNC_POLICY: Final = DeliveryPolicy(num_retries=2, min_delay_target_s=60, max_delay_target_s=120, backoff_function="linear")
"""SNS hands events to Lambda's asynchronous invocation, which runs a failing function twice
more (after about one and two minutes) before it gives up."""


def default_policy(protocol: str) -> DeliveryPolicy:
    """The delivery policy SNS applies to ``protocol`` unless the subscription sets one."""
    if protocol in ("http", "https"):
        return HTTP_DEFAULT_POLICY
    if protocol in ("email", "email-json"):
        return CUSTOMER_MANAGED_POLICY
    if protocol == "lambda":
        return LAMBDA_ASYNC_POLICY
    return AWS_MANAGED_POLICY
