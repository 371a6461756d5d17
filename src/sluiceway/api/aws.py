"""How the management API reaches AWS: ``call(service, operation, params)`` and presigned S3 URLs.

The routes speak AWS's own operations and members (``StartExecution`` with
``stateMachineArn``), so one implementation calls them in-process on the local endpoint
(:class:`sluiceway.endpoint.management_api.LocalAws`) and another calls AWS with boto3 from a Lambda
(:class:`Boto3Aws`). Both raise the same two errors, which :mod:`sluiceway.api.errors` maps
to HTTP once.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

__all__ = ["Aws", "AwsCallError", "Boto3Aws", "ServiceNotServedError"]


class AwsCallError(Exception):
    """An error AWS answered: its code (``ExecutionDoesNotExist``), message and HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class ServiceNotServedError(Exception):
    """The operation exists in AWS but the backend behind this API does not serve it (the local endpoint)."""

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(f"{service} {operation} is not served")
        self.service = service
        self.operation = operation


class Aws(Protocol):
    """AWS's APIs as the management API uses them."""

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The operation's output members (botocore's service and operation names, e.g. ``stepfunctions``, ``ListExecutions``).

        Raises:
            AwsCallError: AWS answered with an error.
            ServiceNotServedError: the backend does not serve this service or operation.
        """
        ...

    def presign_put(self, bucket: str, key: str, expires_s: int, *, content_type: str | None = None) -> str:
        """A URL that uploads ``key`` with one ``PUT`` for ``expires_s`` seconds (with that Content-Type, when given)."""
        ...

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        """A URL that downloads ``key`` for ``expires_s`` seconds."""
        ...


class Boto3Aws:
    """:class:`Aws` over boto3, for the Lambda: credentials and region from its environment.

    boto3 is in Lambda's Python runtime and not a dependency of Sluiceway: it is imported
    when the first client is made, never by a local install.
    """

    def __init__(self, *, region: str | None = None, endpoint_url: str | None = None) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}  # boto3's clients (their types are generated per service)
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                # S3 presigned URLs must name the region's endpoint (SigV4): virtual-host style
                # with the regional host works for every bucket made since 2019.
                config = Config(signature_version="s3v4", retries={"mode": "standard"}) if service == "s3" else None
                make: Any = boto3.client  # typed per service name by the stubs; any service here
                self._clients[service] = make(service, region_name=self._region, endpoint_url=self._endpoint_url, config=config)
            return self._clients[service]

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore import xform_name
        from botocore.exceptions import ClientError

        client = self.client(service)
        try:
            output: dict[str, Any] = getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            raise AwsCallError(str(error.get("Code", "Unknown")), str(error.get("Message", "")), int(status)) from exc
        output.pop("ResponseMetadata", None)
        return output

    def presign_put(self, bucket: str, key: str, expires_s: int, *, content_type: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if content_type:
            params["ContentType"] = content_type
        return str(self.client("s3").generate_presigned_url("put_object", Params=params, ExpiresIn=expires_s))

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        return str(self.client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s))
