"""AWS::SES::EmailIdentity, AWS::SES::Template and AWS::SES::ConfigurationSet, made through SES v2's operations.

An identity is verified at once locally (no DNS record is looked up), so a sender declared in
the template can send as soon as the stack is up. Ref gives an identity's name, a template's
name and a configuration set's name; Fn::GetAtt gives an identity's DKIM DNS token names and
values as SES v2 reports them. Configuration sets keep their options; their event destinations
are not delivered.
"""

from __future__ import annotations

from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name, require

__all__ = ["ConfigurationSet", "EmailIdentity", "EmailTemplate"]

_SET_OPTIONS = ("TrackingOptions", "DeliveryOptions", "ReputationOptions", "SendingOptions", "SuppressionOptions", "VdmOptions")


def _gone(error: AwsError) -> None:
    if error.code != "NotFoundException":
        raise error


class EmailIdentity:
    def apply(self, env: Env, request: Request) -> Made:
        name = require(request, "EmailIdentity")
        previous = request.previous
        if previous is not None and previous.physical_id != name:
            self.delete(env, previous)  # EmailIdentity is create-only: a new name replaces it
        try:
            made = env.aws.call("sesv2", "CreateEmailIdentity", {"EmailIdentity": name})
        except AwsError as error:
            if error.code != "AlreadyExistsException" or previous is None:
                raise
            made = env.aws.call("sesv2", "GetEmailIdentity", {"EmailIdentity": name})
        tokens = list(made.get("DkimAttributes", {}).get("Tokens") or [])
        attributes: dict[str, Any] = {}
        for i, token in enumerate(tokens[:3], start=1):
            attributes[f"DkimDNSTokenName{i}"] = f"{token}._domainkey.{name}"
            attributes[f"DkimDNSTokenValue{i}"] = f"{token}.dkim.amazonses.com"
        return Made(name, name, attributes)

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("sesv2", "DeleteEmailIdentity", {"EmailIdentity": stored.physical_id})
        except AwsError as error:
            _gone(error)


class EmailTemplate:
    """AWS::SES::Template: ``Template`` holds TemplateName, SubjectPart, TextPart and HtmlPart."""

    def apply(self, env: Env, request: Request) -> Made:
        given = request.properties.get("Template") or {}
        if not isinstance(given, dict):
            raise TemplateError(f"{request.where}.Template: must be an object")
        if not given.get("SubjectPart"):
            # What SES answers CloudFormation for a template without a subject.
            raise TemplateError(f"{request.where}.Template: The subject must be specified.")
        name = str(given.get("TemplateName") or physical_name(env.stack_name, request.logical_id, 64))
        content = {"Subject": given["SubjectPart"], "Text": given.get("TextPart"), "Html": given.get("HtmlPart")}
        params = {"TemplateName": name, "TemplateContent": {k: v for k, v in content.items() if v is not None}}
        previous = request.previous
        if previous is not None and previous.physical_id != name:
            self.delete(env, previous)
        try:
            env.aws.call("sesv2", "CreateEmailTemplate", params)
        except AwsError as error:
            if error.code != "AlreadyExistsException" or previous is None:
                raise
            env.aws.call("sesv2", "UpdateEmailTemplate", params)
        return Made(name, name)

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("sesv2", "DeleteEmailTemplate", {"TemplateName": stored.physical_id})
        except AwsError as error:
            _gone(error)


class ConfigurationSet:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = str(props.get("Name") or physical_name(env.stack_name, request.logical_id, 64))
        previous = request.previous
        if previous is not None:
            # Options are stored as given: a changed set is made again under its name.
            self.delete(env, previous)
        params: dict[str, Any] = {"ConfigurationSetName": name}
        params.update({key: props[key] for key in _SET_OPTIONS if props.get(key) is not None})
        env.aws.call("sesv2", "CreateConfigurationSet", params)
        return Made(name, name)

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("sesv2", "DeleteConfigurationSet", {"ConfigurationSetName": stored.physical_id})
        except AwsError as error:
            _gone(error)
