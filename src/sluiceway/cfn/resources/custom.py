"""Custom resources (``AWS::CloudFormation::CustomResource``, ``Custom::*``) backed by a Lambda function.

CloudFormation sends the function a request (Create, Update or Delete) naming a
presigned ``ResponseURL``; the function (or ``cfnresponse``, crhelper, Powertools)
PUTs its answer there: ``Status``, ``PhysicalResourceId``, ``Data``. ``Data`` is what
``Fn::GetAtt`` of the resource gives. Locally the URL is the endpoint's
``/_sluiceway/cloudformation/responses/<request id>`` (see :mod:`sluiceway.endpoint.custom_resources`).
"""

from __future__ import annotations

from typing import Any

from ..errors import TemplateError
from .base import Env, Made, Request, Stored

__all__ = ["CustomResource", "as_text"]


def as_text(value: Any) -> Any:
    """Properties as CloudFormation sends them to a custom resource: every scalar as text
    (``5`` -> ``"5"``, ``true`` -> ``"true"``), lists and objects kept."""
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_text(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


class CustomResource:
    def apply(self, env: Env, request: Request) -> Made:
        token = request.properties.get("ServiceToken")
        if not isinstance(token, str) or ":lambda:" not in token:
            raise TemplateError(f"{request.where}.ServiceToken: locally a custom resource needs a Lambda function's ARN")
        previous = request.previous
        if previous is not None and dict(previous.properties) == dict(request.properties):
            # Nothing changed: CloudFormation sends no request; the resource stays as it was.
            return Made(previous.physical_id, previous.physical_id, previous.attributes, previous.state)
        body: dict[str, Any] = {
            "RequestType": "Create" if previous is None else "Update",
            "ResourceType": request.type,
            "LogicalResourceId": request.logical_id,
            "ResourceProperties": as_text(request.properties),
        }
        if previous is not None:
            body["PhysicalResourceId"] = previous.physical_id
            body["OldResourceProperties"] = as_text(previous.properties)
        response = self._send(env, token, body, request.logical_id)
        physical = response.get("PhysicalResourceId") or (previous.physical_id if previous else None)
        if not isinstance(physical, str) or not physical:
            raise TemplateError(f"{request.logical_id}: the custom resource's response has no PhysicalResourceId")
        data = response.get("Data") or {}
        if not isinstance(data, dict):
            raise TemplateError(f"{request.logical_id}: the custom resource's response Data must be an object")
        if previous is not None and previous.physical_id != physical:
            # A new physical id replaces the resource: CloudFormation deletes the old one afterwards.
            self._send(
                env,
                token,
                {
                    "RequestType": "Delete",
                    "ResourceType": request.type,
                    "LogicalResourceId": request.logical_id,
                    "PhysicalResourceId": previous.physical_id,
                    "ResourceProperties": as_text(previous.properties),
                },
                request.logical_id,
                fail=False,
            )
        return Made(physical, physical, data, {"service_token": token})

    def delete(self, env: Env, stored: Stored) -> None:
        token = stored.properties.get("ServiceToken") or stored.state.get("service_token")
        if not isinstance(token, str):
            return
        body = {
            "RequestType": "Delete",
            "ResourceType": stored.type,
            "LogicalResourceId": stored.logical_id,
            "PhysicalResourceId": stored.physical_id,
            "ResourceProperties": as_text(stored.properties),
        }
        self._send(env, token, body, stored.logical_id, fail=False)

    def _send(self, env: Env, token: str, body: dict[str, Any], logical_id: str, *, fail: bool = True) -> dict[str, Any]:
        if env.invoke_custom is None:
            raise TemplateError(f"{logical_id}: custom resources need the running endpoint")
        response = env.invoke_custom(token, body)
        if response.get("Status") != "SUCCESS":
            reason = response.get("Reason") or "no reason given"
            if fail:
                raise TemplateError(f"{logical_id}: the custom resource failed: {reason}")
            env.warn(f"{logical_id}: the custom resource's {body['RequestType']} failed: {reason}")
        return response
