"""AWS's error shape, raised by operations and serialized once by the protocol layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["AwsError", "not_implemented"]


class AwsError(Exception):
    """An error as AWS answers it: a code, a message, an HTTP status and who is at fault.

    Operations raise it; :mod:`sluiceway.endpoint.protocol` turns it into the service's
    error body (XML for query and rest-xml, JSON for json and rest-json) with the
    ``x-amzn-RequestId`` header. ``fields`` are extra members of the error shape that
    AWS sends with some codes (S3's ``BucketName`` or ``Key``, for example): text, or lists
    and structures of them (CloudWatch's ``dashboardValidationMessages``).
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        sender_fault: bool = True,
        fields: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"AwsError({self.code!r}, {self.message!r}, {self.status})"


def not_implemented(service: str, operation: str) -> AwsError:
    """The answer to a modelled operation Sluiceway does not serve (never a 500)."""
    return AwsError(
        "NotImplemented" if service == "s3" else "UnsupportedOperation",
        f"{service} operation {operation} is not served by the Sluiceway endpoint",
        501 if service == "s3" else 400,
    )
