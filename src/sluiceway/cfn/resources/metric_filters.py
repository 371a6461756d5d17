"""AWS::Logs::MetricFilter: a CloudWatch Logs metric filter, put with PutMetricFilter.

Ref is the filter's name (CloudFormation generates one when ``FilterName`` is not given). A new
``FilterName`` or ``LogGroupName`` replaces the filter, as CloudFormation does (both are
create-only); the other properties update it in place. Locally the stack's CloudWatch feeds the
filter's metric from the events put into its group from then on, so an alarm on that metric is
evaluated against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name, require

__all__ = ["MetricFilter"]

_MEMBERS = {
    "MetricName": "metricName",
    "MetricNamespace": "metricNamespace",
    "MetricValue": "metricValue",
    "DefaultValue": "defaultValue",
    "Unit": "unit",
}

_REQUIRED = ("MetricName", "MetricNamespace", "MetricValue")
"""CloudFormation's required members of a MetricTransformation."""


class MetricFilter:
    def apply(self, env: Env, request: Request) -> Made:
        group = require(request, "LogGroupName")
        pattern = request.properties.get("FilterPattern")
        if not isinstance(pattern, str):
            raise TemplateError(f"{request.where}.FilterPattern: required for {request.type}, a string")
        given = request.properties.get("FilterName")
        if given is not None and not isinstance(given, str):
            raise TemplateError(f"{request.where}.FilterName: must be a string, not {type(given).__name__}")
        previous = request.previous
        name = given or (previous.physical_id if previous else physical_name(env.stack_name, request.logical_id, 512))
        transformations = require(request, "MetricTransformations", list)
        env.aws.call(
            "logs",
            "PutMetricFilter",
            {
                "logGroupName": group,
                "filterName": name,
                "filterPattern": pattern,
                "metricTransformations": [_transformation(request, index, t) for index, t in enumerate(transformations)],
            },
        )
        if previous is not None and (previous.physical_id, _group_of(previous)) != (name, group):
            self.delete(env, previous)  # a new name or group replaces the filter
        return Made(name, name, state={"LogGroupName": group})

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("logs", "DeleteMetricFilter", {"logGroupName": _group_of(stored), "filterName": stored.physical_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":  # gone already, or its group is
                raise


def _group_of(stored: Stored) -> str:
    return str(stored.state.get("LogGroupName") or stored.properties.get("LogGroupName") or "")


def _transformation(request: Request, index: int, given: object) -> dict[str, Any]:
    where = f"{request.where}.MetricTransformations[{index}]"
    if not isinstance(given, Mapping):
        raise TemplateError(f"{where}: must be an object, not {type(given).__name__}")
    out: dict[str, Any] = {}
    for key, member in _MEMBERS.items():
        value = given.get(key)
        if value is None:
            if key in _REQUIRED:
                raise TemplateError(f"{where}.{key}: required for {request.type}")
            continue
        if key == "DefaultValue":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise TemplateError(f"{where}.DefaultValue: must be a number")
            try:
                out[member] = float(value)
            except ValueError:
                raise TemplateError(f"{where}.DefaultValue: must be a number, not {value!r}") from None
        else:
            # CloudFormation takes MetricValue: 1 as the string "1".
            out[member] = value if isinstance(value, str) else str(value)
    dimensions = given.get("Dimensions")
    if dimensions:
        if not isinstance(dimensions, list) or not all(isinstance(d, Mapping) and "Key" in d and "Value" in d for d in dimensions):
            raise TemplateError(f"{where}.Dimensions: must be a list of {{Key, Value}}")
        out["dimensions"] = {str(d["Key"]): str(d["Value"]) for d in dimensions}
    return out
