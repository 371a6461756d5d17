"""The AWS variables API Gateway resolves when it imports an OpenAPI definition.

API Gateway replaces ``${AWS::AccountId}``, ``${AWS::Partition}`` and ``${AWS::Region}`` in a
definition's strings with the importing account, partition and region ("AWS variables for
OpenAPI import"). CloudFormation does not: outside ``Fn::Sub`` such text reaches API Gateway as
written, which is how a definition pulled in by ``AWS::Include`` can say
``uri: arn:aws:apigateway:${AWS::Region}:states:action/StartSyncExecution`` without ``Fn::Sub``.
Other ``${...}`` text (stage variables, ``${AWS::StackName}``) is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["resolve_import_variables"]

_VARIABLE = re.compile(r"\$\{AWS::(AccountId|Partition|Region)\}")


def resolve_import_variables(body: Any, *, region: str, account_id: str, partition: str = "aws") -> Any:
    """``body`` with each AWS variable in its string values replaced; keys and other values as they are."""
    values = {"AccountId": account_id, "Partition": partition, "Region": region}

    def resolve(node: Any) -> Any:
        if isinstance(node, str):
            return _VARIABLE.sub(lambda m: values[m[1]], node) if "${AWS::" in node else node
        if isinstance(node, Mapping):
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(body)
