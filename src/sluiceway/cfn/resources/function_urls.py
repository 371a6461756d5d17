"""AWS::Lambda::Url: a function's URL, made, changed and deleted through Lambda's own operations.

SAM's ``FunctionUrlConfig`` becomes one of these (``<Function>Url``, with the Permission that lets
anyone call it) in AWS's translator. ``Ref`` and ``FunctionArn`` are the function's ARN (qualified
when the URL is an alias's); ``FunctionUrl`` is the local URL that serves it, with its trailing
slash, as Lambda's has.
"""

from __future__ import annotations

from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored

__all__ = ["FunctionUrl"]

_REPLACING = ("TargetFunctionArn", "Qualifier")
"""What UpdateFunctionUrlConfig cannot change (CloudFormation replaces the URL)."""


class FunctionUrl:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        target = props.get("TargetFunctionArn")
        if not isinstance(target, str) or not target:
            raise TemplateError(f"{request.where}.TargetFunctionArn: required (the function's name or ARN)")
        if not isinstance(props.get("AuthType"), str):
            raise TemplateError(f"{request.where}.AuthType: required (NONE or AWS_IAM)")
        where: dict[str, Any] = {"FunctionName": target}
        if props.get("Qualifier") is not None:
            where["Qualifier"] = str(props["Qualifier"])
        previous = request.previous
        if previous is not None and any(previous.properties.get(k) != props.get(k) for k in _REPLACING):
            self.delete(env, previous)
            previous = None
        settings: dict[str, Any] = {"AuthType": props["AuthType"]}
        if props.get("InvokeMode") is not None:
            settings["InvokeMode"] = props["InvokeMode"]
        try:
            answer = env.aws.call("lambda", "CreateFunctionUrlConfig", {**where, **settings, **_cors(props)})
        except AwsError as error:
            if error.code != "ResourceConflictException":
                raise
            # Made at an earlier start (or before the stack's record): brought to the template's settings.
            # A Cors left out of the template is removed ({}); an InvokeMode left out goes back to Lambda's default.
            settings["Cors"] = _cors(props).get("Cors", {})
            settings.setdefault("InvokeMode", "BUFFERED")
            answer = env.aws.call("lambda", "UpdateFunctionUrlConfig", {**where, **settings})
        arn = str(answer["FunctionArn"])
        return Made(arn, arn, {"FunctionArn": arn, "FunctionUrl": str(answer["FunctionUrl"])}, {"where": where})

    def delete(self, env: Env, stored: Stored) -> None:
        where = stored.state.get("where")
        if not isinstance(where, dict):
            return
        try:
            env.aws.call("lambda", "DeleteFunctionUrlConfig", dict(where))
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise


def _cors(props: Any) -> dict[str, Any]:
    cors = props.get("Cors")
    return {"Cors": dict(cors)} if isinstance(cors, dict) else {}
