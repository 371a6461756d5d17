"""AWS::SecretsManager::Secret: a secret made through the endpoint's CreateSecret; Ref and ``Id`` are its ARN.

``GenerateSecretString`` draws its password from GetRandomPassword (the same options), and with
``SecretStringTemplate`` and ``GenerateStringKey`` puts it under that key of the template's
JSON object. The password is generated when the secret is made and again only when
``GenerateSecretString`` changes, never at a restart; it is stored in the secret alone, never in
the stack's record. A new Name replaces the secret; removing it deletes it without a recovery
window, as CloudFormation does. Changes are found by comparing the template's previous properties
with its new ones (GenerateSecretString's spec, never the value it generated), so the same
template deploys again without a new version. A secret found under the template's name that the
stack has no record of (a deploy stopped after CreateSecret) is taken over: its value kept unless
the template's SecretString differs, its description, key and tags made the template's.
Properties are checked against the resource schema's types in CloudFormation's words.
"""

from __future__ import annotations

import hashlib
import json
import string
import uuid
from collections.abc import Mapping
from typing import Any, Final

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored
from .property_types import check_types

__all__ = ["Secret"]

_ALPHABET: Final = string.ascii_letters + string.digits
_PASSWORD_OPTIONS: Final = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)
_GENERATE_KEYS: Final = frozenset({*_PASSWORD_OPTIONS, "SecretStringTemplate", "GenerateStringKey"})
#: The resource schema's types, as CloudFormation names them in its validation message.
_TYPES: Final = {
    "Name": "String",
    "Description": "String",
    "KmsKeyId": "String",
    "SecretString": "String",
    "GenerateSecretString": "JSONObject",
    "Tags": "JSONArray",
}
_GENERATE_TYPES: Final = {
    "PasswordLength": "Integer",
    "ExcludeCharacters": "String",
    "ExcludeNumbers": "Boolean",
    "ExcludePunctuation": "Boolean",
    "ExcludeUppercase": "Boolean",
    "ExcludeLowercase": "Boolean",
    "IncludeSpace": "Boolean",
    "RequireEachIncludedType": "Boolean",
    "SecretStringTemplate": "String",
    "GenerateStringKey": "String",
}


def _check_types(request: Request) -> None:
    props = request.properties
    checks = [(f"#/{k}", props.get(k), t) for k, t in _TYPES.items()]
    generate = props.get("GenerateSecretString")
    if isinstance(generate, Mapping):
        checks += [(f"#/GenerateSecretString/{k}", generate.get(k), t) for k, t in _GENERATE_TYPES.items()]
    check_types(request.logical_id, checks)


def _option(value: Any, expected: str) -> Any:
    if expected == "Integer":
        return int(value)
    if expected == "Boolean":
        return value if isinstance(value, bool) else value.lower() == "true"
    return str(value)


def generated_name(stack_name: str, logical_id: str) -> str:
    """The name CloudFormation gives a secret the template does not name: ``<logical id>-<12 characters>``.

    The characters are derived from the stack and logical id, so a restart names it again the same.
    """
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    return f"{logical_id}-" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:12])


def _tags(request: Request) -> list[dict[str, str]]:
    tags = request.properties.get("Tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, Mapping) and "Key" in t and "Value" in t for t in tags):
        raise TemplateError(f"{request.where}.Tags: must be a list of {{Key, Value}}")
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags]


class Secret:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        _check_types(request)
        if props.get("SecretString") is not None and props.get("GenerateSecretString") is not None:
            raise TemplateError(f"{request.where}: SecretString and GenerateSecretString can't both be given")
        name = props.get("Name")
        if name is not None and not isinstance(name, str):
            raise TemplateError(f"{request.where}.Name: must be a string")
        previous = request.previous
        if name is None:
            name = previous.state.get("name") if previous is not None else None
            name = name or generated_name(env.stack_name, request.logical_id)
        if previous is not None and previous.state.get("name") == name and self._exists(env, previous.physical_id):
            self._update(env, request, previous)
            return Made(previous.physical_id, previous.physical_id, {"Id": previous.physical_id}, {"name": name})
        live = self._live(env, name)
        if live is not None:
            # A deploy stopped between CreateSecret and saving its record left the secret: take it over.
            self._adopt(env, request, live)
            if previous is not None and previous.physical_id != live:
                self.delete(env, previous)
            return Made(live, live, {"Id": live}, {"name": name})
        params: dict[str, Any] = {"Name": name, "ClientRequestToken": str(uuid.uuid4())}
        for key in ("Description", "KmsKeyId"):
            if props.get(key) is not None:
                params[key] = props[key]
        if props.get("Tags"):
            params["Tags"] = _tags(request)
        value = self._value(env, request)
        if value is not None:
            params["SecretString"] = value
        arn = str(env.aws.call("secretsmanager", "CreateSecret", params)["ARN"])
        if previous is not None:
            self.delete(env, previous)  # replaced: a new name is a new secret
        return Made(arn, arn, {"Id": arn}, {"name": name})

    def _value(self, env: Env, request: Request) -> str | None:
        """The secret's text: SecretString as given, or a password generated as GenerateSecretString says."""
        props = request.properties
        if props.get("SecretString") is not None:
            return str(props["SecretString"])
        generate = props.get("GenerateSecretString")
        if generate is None:
            return None  # an empty secret, as CloudFormation makes one
        if not isinstance(generate, Mapping):
            raise TemplateError(f"{request.where}.GenerateSecretString: must be an object")
        unknown = sorted(set(generate) - _GENERATE_KEYS)
        if unknown:
            raise TemplateError(f"{request.where}.GenerateSecretString: unknown properties {unknown}")
        template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
        if (template is None) != (key is None):
            raise TemplateError(f"{request.where}.GenerateSecretString: SecretStringTemplate and GenerateStringKey go together")
        options = {k: _option(generate[k], _GENERATE_TYPES[k]) for k in _PASSWORD_OPTIONS if k in generate}
        password = str(env.aws.call("secretsmanager", "GetRandomPassword", options)["RandomPassword"])
        if template is None:
            return password
        try:
            document = json.loads(str(template))
        except ValueError:
            raise TemplateError(f"{request.where}.GenerateSecretString.SecretStringTemplate: must be a JSON object") from None
        if not isinstance(document, dict):
            raise TemplateError(f"{request.where}.GenerateSecretString.SecretStringTemplate: must be a JSON object")
        document[str(key)] = password
        return json.dumps(document)

    def _update(self, env: Env, request: Request, previous: Stored) -> None:
        props, old, arn = request.properties, previous.properties, previous.physical_id
        params: dict[str, Any] = {"SecretId": arn}
        for key in ("Description", "KmsKeyId"):
            if props.get(key) != old.get(key):
                params[key] = props.get(key) or ""  # an empty KmsKeyId is the default key again
        if props.get("SecretString") != old.get("SecretString") or props.get("GenerateSecretString") != old.get("GenerateSecretString"):
            value = self._value(env, request)
            if value is not None:
                params["SecretString"] = value
                params["ClientRequestToken"] = str(uuid.uuid4())
        if len(params) > 1:
            env.aws.call("secretsmanager", "UpdateSecret", params)
        tags, old_tags = _tags(request), {str(t["Key"]) for t in old.get("Tags") or [] if isinstance(t, Mapping) and "Key" in t}
        gone = sorted(old_tags - {t["Key"] for t in tags})
        if gone:
            env.aws.call("secretsmanager", "UntagResource", {"SecretId": arn, "TagKeys": gone})
        if tags and tags != old.get("Tags"):
            env.aws.call("secretsmanager", "TagResource", {"SecretId": arn, "Tags": tags})

    def _live(self, env: Env, name: str) -> str | None:
        """The ARN of a secret named ``name`` that is not scheduled for deletion, if there is one."""
        try:
            described = env.aws.call("secretsmanager", "DescribeSecret", {"SecretId": name})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise
            return None
        return None if "DeletedDate" in described else str(described["ARN"])

    def _adopt(self, env: Env, request: Request, arn: str) -> None:
        """Make a secret found under the template's name what the template says; a generated value is kept."""
        props = request.properties
        described = env.aws.call("secretsmanager", "DescribeSecret", {"SecretId": arn})
        params: dict[str, Any] = {"SecretId": arn}
        for key in ("Description", "KmsKeyId"):
            if props.get(key) is not None and props.get(key) != described.get(key):
                params[key] = props[key]
        text = props.get("SecretString")
        if text is not None:
            try:
                held = env.aws.call("secretsmanager", "GetSecretValue", {"SecretId": arn}).get("SecretString")
            except AwsError as error:
                if error.code != "ResourceNotFoundException":
                    raise
                held = None  # made without a value
            if held != str(text):
                params["SecretString"] = str(text)
                params["ClientRequestToken"] = str(uuid.uuid4())
        if len(params) > 1:
            env.aws.call("secretsmanager", "UpdateSecret", params)
        tags = _tags(request)
        gone = sorted({str(t["Key"]) for t in described.get("Tags") or []} - {t["Key"] for t in tags})
        if gone:
            env.aws.call("secretsmanager", "UntagResource", {"SecretId": arn, "TagKeys": gone})
        if tags:
            env.aws.call("secretsmanager", "TagResource", {"SecretId": arn, "Tags": tags})

    def _exists(self, env: Env, arn: str) -> bool:
        try:
            described = env.aws.call("secretsmanager", "DescribeSecret", {"SecretId": arn})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise
            return False
        return "DeletedDate" not in described

    def delete(self, env: Env, stored: Stored) -> None:
        # Forced, as CloudFormation deletes a stack's secrets: no recovery window holds the name.
        env.aws.call("secretsmanager", "DeleteSecret", {"SecretId": stored.physical_id, "ForceDeleteWithoutRecovery": True})
