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
from .property_types import type_name

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
        problems = _cors_problems(props.get("Cors"))
        if problems:
            shown = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
            raise TemplateError(f"Properties validation failed for resource {request.logical_id} with message: {shown}")
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


_CORS_LISTS = {
    # member: (item enum or None, least and most characters of an item), as AWS::Lambda::Url's schema has them
    "AllowHeaders": (None, 1, 1024),
    "AllowMethods": (("GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*"), 0, 0),
    "AllowOrigins": (None, 1, 253),
    "ExposeHeaders": (None, 1, 1024),
}
_CORS_MOST_ITEMS = {"AllowHeaders": 100, "AllowMethods": 6, "AllowOrigins": 100, "ExposeHeaders": 100}


def _cors_problems(cors: Any) -> list[str]:
    """CloudFormation's schema check of ``Cors``, in its words (before Lambda sees it: the schema is stricter
    than Lambda's model, with at least one item per list and AllowMethods' values)."""
    if cors is None:
        return []
    if not isinstance(cors, dict):
        return [f"#/Cors: expected type: JSONObject, found: {type_name(cors)}"]
    problems = [
        f"#/Cors: extraneous key [{key}] is not permitted" for key in cors if key not in (*_CORS_LISTS, "AllowCredentials", "MaxAge")
    ]
    for member, (enum, least, most) in _CORS_LISTS.items():
        items = cors.get(member)
        if items is None:
            continue
        where = f"#/Cors/{member}"
        if not isinstance(items, list):
            problems.append(f"{where}: expected type: JSONArray, found: {type_name(items)}")
            continue
        if not items:
            problems.append(f"{where}: expected minimum item count: 1, found: 0")
        if len(items) > _CORS_MOST_ITEMS[member]:
            problems.append(f"{where}: expected maximum item count: {_CORS_MOST_ITEMS[member]}, found: {len(items)}")
        for index, item in enumerate(items):
            if not isinstance(item, str):
                problems.append(f"{where}/{index}: expected type: String, found: {type_name(item)}")
            elif enum is not None and item not in enum:
                problems.append(f"{where}/{index}: {item} is not a valid enum value")
            elif enum is None and len(item) < least:
                problems.append(f"{where}/{index}: expected minLength: {least}, actual: {len(item)}")
            elif enum is None and len(item) > most:
                problems.append(f"{where}/{index}: expected maxLength: {most}, actual: {len(item)}")
    credentials = cors.get("AllowCredentials")
    if credentials is not None and not (isinstance(credentials, bool) or str(credentials).lower() in ("true", "false")):
        problems.append(f"#/Cors/AllowCredentials: expected type: Boolean, found: {type_name(credentials)}")
    max_age = cors.get("MaxAge")
    if max_age is not None:
        # A Ref to a parameter is text: CloudFormation converts "300" as the schema asks.
        text = str(max_age).strip()
        if isinstance(max_age, (bool, float, list, dict)) or not text.lstrip("-").isdigit():
            problems.append(f"#/Cors/MaxAge: expected type: Integer, found: {type_name(max_age)}")
        elif int(text) < 0:
            problems.append(f"#/Cors/MaxAge: {int(text)} is not greater or equal to 0")
        elif int(text) > 86_400:
            problems.append(f"#/Cors/MaxAge: {int(text)} is not less or equal to 86400")
    return problems


def _cors(props: Any) -> dict[str, Any]:
    cors = props.get("Cors")
    return {"Cors": dict(cors)} if isinstance(cors, dict) else {}
