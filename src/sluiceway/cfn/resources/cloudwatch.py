"""AWS::CloudWatch::Alarm (PutMetricAlarm / DeleteAlarms), AWS::CloudWatch::CompositeAlarm (PutCompositeAlarm /
DeleteAlarms) and AWS::CloudWatch::Dashboard (accepted, not rendered)."""

from __future__ import annotations

import json
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


class Alarm:
    """A metric alarm: Ref is its name, ``Fn::GetAtt Arn`` its ARN. The stack evaluates it locally."""

    operation = "PutMetricAlarm"

    def apply(self, env: Env, request: Request) -> Made:
        properties = request.properties
        name = properties.get("AlarmName")
        if not isinstance(name, str) or not name:
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
    """Accepted and checked (its body must be a JSON object), never rendered: locally there is no console to show it."""

    def apply(self, env: Env, request: Request) -> Made:
        name = request.properties.get("DashboardName")
        if not isinstance(name, str) or not name:
            name = request.previous.physical_id if request.previous else physical_name(env.stack_name, request.logical_id, 255)
        body = request.properties.get("DashboardBody")
        try:
            document = json.loads(body) if isinstance(body, str) else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise TemplateError(f"{request.where}.DashboardBody: must be a JSON object (as text)")
        env.warn(f"{request.logical_id}: CloudWatch dashboard {name} is accepted but not rendered locally")
        return Made(name, name)

    def delete(self, env: Env, stored: Stored) -> None:
        return None
