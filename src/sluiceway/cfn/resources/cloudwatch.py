"""AWS::CloudWatch::Alarm (PutMetricAlarm / DeleteAlarms), AWS::CloudWatch::CompositeAlarm (PutCompositeAlarm /
DeleteAlarms) and AWS::CloudWatch::Dashboard (PutDashboard / DeleteDashboards)."""

from __future__ import annotations

from typing import Any

from ...endpoint import protocol
from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["Alarm", "CompositeAlarm", "Dashboard"]


def _properties(operation: str) -> frozenset[str]:
    """An operation's parameters, from its model: an alarm's properties carry the same names."""
    shape = protocol.service_model("cloudwatch").operation_model(operation).input_shape
    return frozenset(shape.members if shape is not None else ())


def _given_name(request: Request, key: str) -> str | None:
    """The name the template gives (None: CloudFormation makes one up).

    CloudFormation reads a number where a name is due as its digits (YAML's ``12345`` is the name
    "12345"); anything else that is not text fails the resource.
    """
    value = request.properties.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is not None and not isinstance(value, str):
        raise TemplateError(f"{request.where}.{key}: must be a string, not {type(value).__name__}")
    return value or None


class Alarm:
    """A metric alarm: Ref is its name, ``Fn::GetAtt Arn`` its ARN. The stack evaluates it locally."""

    operation = "PutMetricAlarm"

    def apply(self, env: Env, request: Request) -> Made:
        properties = request.properties
        name = _given_name(request, "AlarmName")
        if name is None:
            name = request.previous.physical_id if request.previous else physical_name(env.stack_name, request.logical_id, 255)
        params: dict[str, Any] = {key: properties[key] for key in _properties(self.operation) if key in properties}
        params["AlarmName"] = name
        env.aws.call("cloudwatch", self.operation, params)
        if request.previous is not None and request.previous.physical_id != name:
            self.delete(env, request.previous)  # a new name replaces the alarm, as CloudFormation does
        return Made(name, name, {"Arn": env.arn("cloudwatch", f"alarm:{name}")})

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("cloudwatch", "DeleteAlarms", {"AlarmNames": [stored.physical_id]})
        except AwsError as error:
            if error.code != "ResourceNotFound":
                raise


class CompositeAlarm(Alarm):
    """A composite alarm: Ref is its name, ``Fn::GetAtt Arn`` its ARN. Its rule is evaluated when
    it is made and whenever an alarm it references changes state; the alarms it references must
    exist first (a ``DependsOn``, or a ``Ref``/``GetAtt`` in the rule, orders them, as on AWS)."""

    operation = "PutCompositeAlarm"


class Dashboard:
    """A dashboard, put with PutDashboard (CloudWatch checks its body): Ref is its name. A new name
    replaces it, as CloudFormation does; nothing renders it locally, GetDashboard reads it back."""

    def apply(self, env: Env, request: Request) -> Made:
        name = _given_name(request, "DashboardName")
        if name is None:
            name = request.previous.physical_id if request.previous else physical_name(env.stack_name, request.logical_id, 255)
        body = request.properties.get("DashboardBody")
        if not isinstance(body, str):
            raise TemplateError(f"{request.where}.DashboardBody: must be a JSON object (as text)")
        if (request.previous is None or request.previous.physical_id != name) and self._exists(env, name):
            # PutDashboard would overwrite a dashboard the stack does not own (and deleting the
            # stack would then delete it): CloudFormation fails the resource instead.
            raise TemplateError(f"{request.where}.DashboardName: Dashboard '{name}' already exists")
        env.aws.call("cloudwatch", "PutDashboard", {"DashboardName": name, "DashboardBody": body})
        if request.previous is not None and request.previous.physical_id != name:
            self.delete(env, request.previous)
        return Made(name, name)

    def _exists(self, env: Env, name: str) -> bool:
        try:
            env.aws.call("cloudwatch", "GetDashboard", {"DashboardName": name})
        except AwsError as error:
            if error.code != "ResourceNotFound":
                raise
            return False
        return True

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("cloudwatch", "DeleteDashboards", {"DashboardNames": [stored.physical_id]})
        except AwsError as error:
            if error.code != "ResourceNotFound":
                raise
