"""AWS::SecretsManager::Secret: a secret made through the endpoint's CreateSecret; Ref and ``Id`` are its ARN.

``GenerateSecretString`` draws its password from GetRandomPassword (the same options), and with
``SecretStringTemplate`` and ``GenerateStringKey`` puts it under that key of the template's
JSON object. The password is generated when the secret is made and again only when
``GenerateSecretString`` changes, never at a restart; it is stored in the secret alone, never in
the stack's record. A new Name replaces the secret; removing it deletes it without a recovery
window, as CloudFormation does.
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
        options = {k: generate[k] for k in _PASSWORD_OPTIONS if k in generate}
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
