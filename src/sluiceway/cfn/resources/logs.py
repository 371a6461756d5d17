"""AWS::Logs::LogGroup: a CloudWatch Logs group in the stack's log store."""

from __future__ import annotations

from ...endpoint.errors import AwsError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["LogGroup"]


class LogGroup:
    def apply(self, env: Env, request: Request) -> Made:
        name = request.properties.get("LogGroupName") or physical_name(env.stack_name, request.logical_id, 512)
        try:
            env.aws.call("logs", "CreateLogGroup", {"logGroupName": name})
        except AwsError as error:
            if error.code != "ResourceAlreadyExistsException":
                raise
        return Made(name, name, {"Arn": env.arn("logs", f"log-group:{name}:*")})

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("logs", "DeleteLogGroup", {"logGroupName": stored.physical_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise
