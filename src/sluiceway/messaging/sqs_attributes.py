"""SQS message attributes: typed values, SQS's checks, their MD5 digest, and selection on receive.

A message attribute is a data type (``String``, ``Number``, ``Binary``, each optionally with
a custom ``.label``) and a value: text for the String transport (``String`` and ``Number``),
bytes for the Binary transport. SQS answers a send with ``MD5OfMessageAttributes`` and a
receive with the digest of the attributes it returns, computed as the SQS Developer
Guide describes ("Calculating the MD5 message digest for message attributes"): SDKs
that check it (Java, .NET, Go v2) refuse an answer whose digest is off by one byte.

Plain strings stand for ``String`` attributes, so the ``Queue`` port's
``attributes: Mapping[str, str]`` is the simple case of a mapping of
:class:`MessageAttributeValue`.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from .errors import InvalidMessageError

__all__ = [
    "AttributeInput",
    "MessageAttributeValue",
    "attributes_from_json",
    "attributes_size",
    "attributes_to_json",
    "check_message_attributes",
    "md5_of_attributes",
    "md5_of_body",
    "select_attributes",
    "typed_attributes",
]

_STRING_TRANSPORT = 1
_BINARY_TRANSPORT = 2
_MAX_ATTRIBUTES = 10
_MAX_NAME = 256
_MAX_TYPE = 256
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# XML 1.0's Char production, as for bodies.
_INVALID_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# SQS's Number: up to 38 significant digits, between 10^-128 and 10^+126 in magnitude.
_MAX_DIGITS = 38


@dataclass(frozen=True)
class MessageAttributeValue:
    """One SQS message attribute (SQS's ``MessageAttributeValue`` without the reserved list members)."""

    data_type: str
    """``String``, ``Number`` or ``Binary``, optionally followed by ``.custom-label``."""
    string_value: str | None = None
    binary_value: bytes | None = None

    @property
    def base_type(self) -> str:
        """The logical type without its custom label: ``String``, ``Number`` or ``Binary``."""
        return self.data_type.split(".", 1)[0]

    @property
    def is_binary(self) -> bool:
        return self.base_type == "Binary"

    def to_aws(self) -> dict[str, Any]:
        """SQS's shape: ``{"DataType": ..., "StringValue": ...}`` or ``{..., "BinaryValue": bytes}``."""
        if self.is_binary:
            return {"DataType": self.data_type, "BinaryValue": self.binary_value}
        return {"DataType": self.data_type, "StringValue": self.string_value}

    def text(self) -> str:
        """The value as text: the string, or base64 of the bytes (as Lambda's SQS event carries it)."""
        if self.is_binary:
            return base64.b64encode(self.binary_value or b"").decode("ascii")
        return self.string_value or ""


AttributeInput: TypeAlias = "str | MessageAttributeValue"
"""What a caller may give per attribute: a plain string (a ``String`` attribute) or a typed value."""


def typed_attributes(attributes: Mapping[str, AttributeInput] | None) -> dict[str, MessageAttributeValue]:
    """``attributes`` with plain strings read as ``String`` attributes (no checks)."""
    return {
        name: value if isinstance(value, MessageAttributeValue) else MessageAttributeValue("String", value)
        for name, value in (attributes or {}).items()
    }


def from_aws(name: str, shape: Mapping[str, Any]) -> MessageAttributeValue:
    """Read SQS's ``MessageAttributeValue`` shape (as botocore members) into a value.

    Raises:
        InvalidMessageError: no or an empty data type, list values (which SQS reserves and
            refuses), or a value of the wrong transport.
    """
    if shape.get("StringListValues") or shape.get("BinaryListValues"):
        # SQS's model marks both "Not implemented. Reserved for future use."
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Message (user) attribute '{name}' has a list value: StringListValues and BinaryListValues are not implemented.",
        )
    data_type = shape.get("DataType")
    if not isinstance(data_type, str) or not data_type:
        raise InvalidMessageError("InvalidParameterValue", f"Message (user) attribute '{name}' must contain a non-empty attribute type.")
    binary = shape.get("BinaryValue")
    string = shape.get("StringValue")
    if isinstance(binary, str):  # a caller that base64-encoded it already (the JSON wire form)
        try:
            binary = base64.b64decode(binary, validate=True)
        except binascii.Error:
            raise InvalidMessageError("InvalidParameterValue", f"Message (user) attribute '{name}' has an invalid binary value.") from None
    return MessageAttributeValue(
        data_type,
        string if isinstance(string, str) else None,
        bytes(binary) if isinstance(binary, bytes | bytearray) else None,
    )


def check_message_attributes(attributes: Mapping[str, AttributeInput] | None, *, system: bool = False) -> None:
    """Check message attributes as SQS's SendMessage does.

    Args:
        system: check ``MessageSystemAttributes`` instead (only ``AWSTraceHeader``, a String).

    Raises:
        InvalidMessageError: ``InvalidParameterValue`` with SQS's reason: more than ten, a
            bad name, a bad or unknown type, an empty value, a Number that is no number,
            a character SQS refuses.
    """
    if not attributes:
        return
    what = "system" if system else "user"
    if not system and len(attributes) > _MAX_ATTRIBUTES:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [{_MAX_ATTRIBUTES}].",
        )
    for name, value in typed_attributes(attributes).items():
        if system:
            if name != "AWSTraceHeader":
                raise InvalidMessageError("InvalidParameterValue", f"Message system attribute name '{name}' is invalid.")
        else:
            _check_name(name)
        data_type = value.data_type
        if not isinstance(data_type, str) or not data_type:
            raise InvalidMessageError(
                "InvalidParameterValue", f"Message ({what}) attribute '{name}' must contain a non-empty attribute type."
            )
        if (
            value.base_type not in ("String", "Number", "Binary")
            or (system and data_type != "String")
            or len(data_type) > _MAX_TYPE
            or _INVALID_CHAR.search(data_type)
        ):
            raise InvalidMessageError(
                "InvalidParameterValue",
                f"The type of message ({what}) attribute '{name}' is invalid. You must use only the following"
                " supported type prefixes: Binary, Number, String.",
            )
        if value.is_binary:
            if not value.binary_value or value.string_value is not None:
                raise InvalidMessageError(
                    "InvalidParameterValue",
                    f"Message ({what}) attribute '{name}' must contain a non-empty value of type 'Binary'.",
                )
            continue
        text = value.string_value
        if not isinstance(text, str) or not text or value.binary_value is not None:
            raise InvalidMessageError(
                "InvalidParameterValue",
                f"Message ({what}) attribute '{name}' must contain a non-empty value of type '{value.base_type}'.",
            )
        if _INVALID_CHAR.search(text):
            raise InvalidMessageError(
                "InvalidParameterValue",
                f"Message ({what}) attribute '{name}' contains invalid characters.",
            )
        if value.base_type == "Number" and not _is_sqs_number(text):
            raise InvalidMessageError("InvalidParameterValue", f"Can't cast the value of message ({what}) attribute '{name}' to a number.")


def _check_name(name: str) -> None:
    lowered = name.lower() if isinstance(name, str) else ""
    if (
        not lowered
        or len(lowered) > _MAX_NAME
        or _NAME.fullmatch(lowered) is None
        or lowered.startswith(("aws.", "amazon.", "."))
        or lowered.endswith(".")
        or ".." in lowered
    ):
        raise InvalidMessageError("InvalidParameterValue", f"Message (user) attribute name '{name}' is invalid.")


def _is_sqs_number(text: str) -> bool:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return False
    if not number.is_finite():
        return False
    if number.is_zero():
        return True
    digits = len(number.as_tuple().digits)
    magnitude = number.adjusted()
    return digits <= _MAX_DIGITS and -128 <= magnitude <= 126


def attributes_size(attributes: Mapping[str, AttributeInput] | None) -> int:
    """Bytes the attributes add to a message's size: each name, data type and value, in UTF-8."""
    size = 0
    for name, value in typed_attributes(attributes).items():
        # Malformed names or values are check_message_attributes' to refuse; they add nothing here.
        if not isinstance(name, str) or not isinstance(value.data_type, str):
            continue
        size += len(name.encode("utf-8")) + len(value.data_type.encode("utf-8"))
        if value.binary_value is not None:
            size += len(value.binary_value)
        elif isinstance(value.string_value, str):
            size += len(value.string_value.encode("utf-8"))
    return size


def md5_of_body(body: str) -> str:
    """``MD5OfMessageBody``/``MD5OfBody``: the hex MD5 of the body's UTF-8 bytes."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: Mapping[str, AttributeInput]) -> str:
    """``MD5OfMessageAttributes``: SQS's digest of typed attributes.

    Sorted by name; for each, the name, the data type (custom label included) and the
    value, each as a 4-byte big-endian length and its bytes, with one transport byte
    (1 String/Number, 2 Binary) before the value.
    """
    digest = hashlib.md5(usedforsecurity=False)
    for name, value in sorted(typed_attributes(attributes).items()):
        digest.update(_length_prefixed(name.encode("utf-8")))
        digest.update(_length_prefixed(value.data_type.encode("utf-8")))
        if value.is_binary:
            digest.update(bytes([_BINARY_TRANSPORT]))
            digest.update(_length_prefixed(value.binary_value or b""))
        else:
            digest.update(bytes([_STRING_TRANSPORT]))
            digest.update(_length_prefixed((value.string_value or "").encode("utf-8")))
    return digest.hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def select_attributes(attributes: Mapping[str, MessageAttributeValue], names: Iterable[str] | None) -> dict[str, MessageAttributeValue]:
    """The attributes a receive's ``MessageAttributeNames`` asks for.

    ``All`` or ``.*`` asks for every one; ``prefix.*`` for those whose name starts with
    ``prefix.``; any other entry for the attribute of that exact name. None or an empty
    list asks for none.
    """
    wanted = list(names or ())
    if not wanted:
        return {}
    if "All" in wanted or ".*" in wanted:
        return dict(attributes)
    exact = {n for n in wanted if not n.endswith(".*")}
    prefixes = tuple(n[:-1] for n in wanted if n.endswith(".*"))
    return {name: value for name, value in attributes.items() if name in exact or (prefixes and name.startswith(prefixes))}


def attributes_to_json(attributes: Mapping[str, AttributeInput] | None) -> str | None:
    """The stored form: ``{"name": "text"}`` for a ``String`` attribute, SQS's shape (binary in
    base64) for any other type; None for no attributes."""
    if not attributes:
        return None
    out: dict[str, Any] = {}
    for name, value in typed_attributes(attributes).items():
        if value.data_type == "String" and value.string_value is not None:
            out[name] = value.string_value
        elif value.is_binary:
            out[name] = {"DataType": value.data_type, "BinaryValue": value.text()}
        else:
            out[name] = {"DataType": value.data_type, "StringValue": value.string_value}
    return json.dumps(out)


def attributes_from_json(text: str | None) -> dict[str, MessageAttributeValue]:
    """Read :func:`attributes_to_json`'s form (plain strings being ``String`` attributes)."""
    if not text:
        return {}
    out: dict[str, MessageAttributeValue] = {}
    for name, stored in json.loads(text).items():
        if isinstance(stored, str):
            out[name] = MessageAttributeValue("String", stored)
        elif "BinaryValue" in stored:
            out[name] = MessageAttributeValue(stored["DataType"], binary_value=base64.b64decode(stored["BinaryValue"]))
        else:
            out[name] = MessageAttributeValue(stored["DataType"], stored.get("StringValue"))
    return out
