"""What a tenant-isolated function cannot have: Lambda's "Supported features and limitations".

Lambda's tenant isolation guide lists function URLs (with provisioned concurrency and SnapStart) as
not supported for a function with tenant isolation, and names the only ways to send it requests:
synchronous and asynchronous Invoke (which give a tenant) and API Gateway as a trigger (which maps
one). An event source mapping names no tenant, so it cannot serve such a function either. Lambda's
exact words for these refusals could not be confirmed against AWS: the code is the one Lambda uses
for a parameter it cannot accept (InvalidParameterValueException), the message is ours.
"""

from __future__ import annotations

from ..errors import AwsError
from ._lambda_code import user_error

__all__ = ["refuse_tenant_isolated"]


def refuse_tenant_isolated(tenancy_mode: str | None, function: str, feature: str) -> None:
    """Raise Lambda's refusal when ``function`` has tenant isolation (``tenancy_mode`` set) and cannot have ``feature``.

    Raises:
        AwsError: InvalidParameterValueException (400).
    """
    if tenancy_mode is not None:
        error: AwsError = user_error(
            "InvalidParameterValueException", f"{feature} is not supported for function {function} with tenant isolation mode enabled."
        )
        raise error
