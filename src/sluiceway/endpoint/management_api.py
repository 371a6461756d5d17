"""The management API on the local endpoint: AWS's operations called in-process, URLs presigned for the endpoint.

The endpoint mounts the app at ``/_sluiceway/api`` (:func:`create_local_app`); its calls go
through :class:`~sluiceway.endpoint.calls.AwsCalls`, the same operations a boto3 client
reaches over HTTP, so a start made here fires the same events as one made with the CLI.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..api.auth import LocalAuthenticator, UserPools
from ..api.aws import AwsCallError, ServiceNotServedError
from .calls import AwsCalls, typed
from .context import Shared
from .errors import AwsError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..runtime.stack import Stack

__all__ = ["LocalAws", "create_local_app"]

#: What a presigned URL is signed with when the endpoint checks no signatures (on the loopback):
#: the dummy credentials every local AWS tool uses.
_DUMMY_KEY = ("test", "test")


class LocalAws:
    """:class:`~sluiceway.api.aws.Aws` over the endpoint's own operations, without HTTP.

    Args:
        calls: the stack's in-process calls.
        access_key: (key id, secret) to presign URLs with; one the endpoint accepts when it checks
            signatures, the dummy ``test`` key otherwise.
    """

    def __init__(self, calls: AwsCalls, *, access_key: tuple[str, str] | None = None) -> None:
        self._calls = calls
        self._access_key = access_key or _DUMMY_KEY
        self._s3: Any = None  # botocore's S3 client (its methods are made from the model)
        self._lock = threading.Lock()

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.validate import ParamValidator

        from . import protocol
        from .services import SERVICES, operations

        if service not in SERVICES or operation not in operations(service).handlers:
            raise ServiceNotServedError(service, operation)
        shape = protocol.service_model(service).operation_model(operation).input_shape
        # boto3 checks a call's members against the model before sending it; so does this, so
        # that a route missing a member fails here as it would on AWS, not inside the operation.
        report = ParamValidator().validate(typed(shape, params), shape) if shape is not None else None
        if report is not None and report.has_errors():
            raise AwsCallError("ValidationException", report.generate_report(), 400)
        try:
            return self._calls.call(service, operation, params)
        except AwsError as error:
            raise AwsCallError(error.code, error.message, error.status) from error

    def presign_put(self, bucket: str, key: str, expires_s: int, *, content_type: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if content_type:
            params["ContentType"] = content_type
        return str(self._presigner().generate_presigned_url("put_object", Params=params, ExpiresIn=expires_s))

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        return str(self._presigner().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s))

    def _presigner(self) -> Any:
        # botocore's own signer: the URL is exactly what a boto3 client of the endpoint would make.
        with self._lock:
            if self._s3 is None:
                import botocore.session
                from botocore.config import Config

                key_id, secret = self._access_key
                self._s3 = botocore.session.Session().create_client(
                    "s3",
                    region_name=self._calls.stack.settings.region,
                    endpoint_url=self._calls.endpoint_url,
                    aws_access_key_id=key_id,
                    aws_secret_access_key=secret,
                    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
                )
            return self._s3


def create_local_app(stack: Stack, shared: Shared, endpoint_url: str, *, access_keys: Mapping[str, str] | None = None) -> FastAPI:
    """The management API for the endpoint serving ``stack`` at ``endpoint_url``, mounted at ``/_sluiceway/api``.

    Its users are the stack's default user pool's (``sluiceway users add``).
    """
    from ..api.app import create_app

    pools: UserPools = stack.local.user_pools
    key = next(iter(access_keys.items())) if access_keys else None
    aws = LocalAws(AwsCalls(stack, shared, endpoint_url), access_key=key)
    return create_app(aws, LocalAuthenticator(pools), user_pool_id=lambda: pools.default_pool().pool_id, root_path="/_sluiceway/api")
