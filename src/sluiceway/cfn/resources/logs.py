"""AWS::Logs::LogGroup: a CloudWatch Logs group in the stack's log store; AWS::Logs::SubscriptionFilter: a
subscription filter on one, put through the Logs API; AWS::Logs::AccountPolicy: an account policy, put
through the Logs API (a subscription filter policy applies to every log group of the stack's account)."""

from __future__ import annotations

import json
from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name, require

__all__ = ["AccountPolicy", "LogGroup", "SubscriptionFilter"]


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


class SubscriptionFilter:
    """AWS::Logs::SubscriptionFilter, put with PutSubscriptionFilter.

    Ref is the filter's name (the type schema's identifier; CloudFormation generates one when
    ``FilterName`` is not given). A new
    ``FilterName`` or ``LogGroupName`` replaces the filter, the old one deleted first, as
    CloudFormation's ``delete_then_create`` does for this type (a group holds two filters at most);
    the other properties update it in place. Locally the stack's subscription feed delivers the
    matching events put into the group from then on.
    """

    def apply(self, env: Env, request: Request) -> Made:
        group = require(request, "LogGroupName")
        destination = require(request, "DestinationArn")
        pattern = request.properties.get("FilterPattern")
        if not isinstance(pattern, str):
            raise TemplateError(f"{request.where}.FilterPattern: required for {request.type}, a string")
        given = request.properties.get("FilterName")
        if given is not None and not isinstance(given, str):
            raise TemplateError(f"{request.where}.FilterName: must be a string, not {type(given).__name__}")
        previous = request.previous
        name = given or (previous.physical_id if previous else physical_name(env.stack_name, request.logical_id, 512))
        if previous is not None and (previous.physical_id, _group_of(previous)) != (name, group):
            self.delete(env, previous)
        params: dict[str, Any] = {"logGroupName": group, "filterName": name, "filterPattern": pattern, "destinationArn": destination}
        for key, member in _OPTIONAL.items():
            value = request.properties.get(key)
            if value is not None:
                params[member] = _bool(request, key, value) if key == "ApplyOnTransformedLogs" else value
        env.aws.call("logs", "PutSubscriptionFilter", params)
        return Made(name, name, state={"LogGroupName": group})

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("logs", "DeleteSubscriptionFilter", {"logGroupName": _group_of(stored), "filterName": stored.physical_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":  # gone already, or its group is
                raise


_OPTIONAL = {
    "RoleArn": "roleArn",
    "Distribution": "distribution",
    "ApplyOnTransformedLogs": "applyOnTransformedLogs",
    "FieldSelectionCriteria": "fieldSelectionCriteria",
    "EmitSystemFields": "emitSystemFields",
}
"""The optional properties and the PutSubscriptionFilter members they are."""


def _group_of(stored: Stored) -> str:
    return str(stored.state.get("LogGroupName") or stored.properties.get("LogGroupName") or "")


def _bool(request: Request, key: str, value: object) -> bool:
    # CloudFormation passes a template's booleans as given, or as "true"/"false" strings.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TemplateError(f"{request.where}.{key}: must be a boolean")


class AccountPolicy:
    """AWS::Logs::AccountPolicy, put with PutAccountPolicy.

    Ref is the account id (as CloudFormation's documentation gives it); ``Fn::GetAtt AccountId`` too.
    The physical id joins the type's identifier (account id, type and name) with ``|``, as Cloud
    Control shows such resources. ``PolicyName`` and ``PolicyType`` are create-only: a new one
    replaces the policy, the old one deleted first (an account holds one subscription filter
    policy, so the new one could not be made beside it; unconfirmed what CloudFormation does then).
    The other properties update it in place.
    """

    def apply(self, env: Env, request: Request) -> Made:
        name = require(request, "PolicyName")
        policy_type = require(request, "PolicyType")
        document = request.properties.get("PolicyDocument")
        if isinstance(document, dict):
            # The type's schema takes a string; a template may give the JSON as an object all the same.
            document = json.dumps(document)
        if not isinstance(document, str):
            raise TemplateError(f"{request.where}.PolicyDocument: required for {request.type}, a string")
        previous = request.previous
        if previous is not None and (_state(previous, "PolicyName"), _state(previous, "PolicyType")) != (name, policy_type):
            self.delete(env, previous)
        params: dict[str, Any] = {"policyName": name, "policyType": policy_type, "policyDocument": document}
        for key, member in (("Scope", "scope"), ("SelectionCriteria", "selectionCriteria")):
            value = request.properties.get(key)
            if value is not None:
                params[member] = value
        env.aws.call("logs", "PutAccountPolicy", params)
        account = env.account_id
        return Made(
            f"{account}|{policy_type}|{name}",
            account,
            {"AccountId": account},
            state={"PolicyName": name, "PolicyType": policy_type},
        )

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call(
                "logs", "DeleteAccountPolicy", {"policyName": _state(stored, "PolicyName"), "policyType": _state(stored, "PolicyType")}
            )
        except AwsError as error:
            if error.code != "ResourceNotFoundException":  # gone already
                raise


def _state(stored: Stored, key: str) -> str:
    return str(stored.state.get(key) or stored.properties.get(key) or "")
