"""AWS::CloudWatch::AnomalyDetector (PutAnomalyDetector / DeleteAnomalyDetector).

A detector has no name of its own: CloudFormation's Ref of one is the physical id it makes up,
and its properties are the operation's parameters, but one spelling: the resource's
``Configuration`` names the zone ``MetricTimeZone`` where the API says ``MetricTimezone``. Here
the physical id is the AnomalyDetectorId PutAnomalyDetector answers, and deleting the resource
deletes the detector by that id.
"""

from __future__ import annotations

from typing import Any

from ...endpoint import protocol
from ...endpoint.errors import AwsError
from .base import Env, Made, Request, Stored

__all__ = ["AnomalyDetector"]


def _properties() -> frozenset[str]:
    """PutAnomalyDetector's parameters, from its model: the resource's properties carry the same names."""
    shape = protocol.service_model("cloudwatch").operation_model("PutAnomalyDetector").input_shape
    return frozenset(shape.members if shape is not None else ())


def _configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """The resource's Configuration in the API's spelling (the API's own spelling passes too)."""
    found = {key: value for key, value in configuration.items() if key != "MetricTimeZone"}
    if "MetricTimeZone" in configuration:
        found.setdefault("MetricTimezone", configuration["MetricTimeZone"])
    return found


class AnomalyDetector:
    """An anomaly detection model: Ref is its id. The stack's local model trains with its configuration."""

    def apply(self, env: Env, request: Request) -> Made:
        params: dict[str, Any] = {key: request.properties[key] for key in _properties() if key in request.properties}
        if isinstance(params.get("Configuration"), dict):
            params["Configuration"] = _configuration(params["Configuration"])
        answer = env.aws.call("cloudwatch", "PutAnomalyDetector", params)
        detector_id = str(answer["AnomalyDetectorId"])
        if request.previous is not None and request.previous.physical_id != detector_id:
            self.delete(env, request.previous)  # another metric or statistic: a new detector replaces the old
        return Made(detector_id, detector_id)

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("cloudwatch", "DeleteAnomalyDetector", {"AnomalyDetectorId": stored.physical_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise
