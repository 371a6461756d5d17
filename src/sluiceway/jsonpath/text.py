"""JSON values as text, the way AWS's JVM services write them.

Step Functions and EventBridge run on the JVM: their messages, and ``States.Format``, render
values with Jackson and Java's ``toString`` (``1.0E20`` rather than Python's ``1e+20``). Every
message that quotes a value uses these functions so that it reads as AWS's does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from sluiceway.types import JSON

__all__ = ["java_class", "java_text", "json_text"]


def _java_double(x: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE[-]n``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    shortest = Decimal(repr(abs(x)))
    if 1e-3 <= abs(x) < 1e7:
        text = format(shortest, "f")
        return sign + (text if "." in text else text + ".0")
    _, digit_tuple, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    power = exponent + len(digits) - 1
    digits = digits.rstrip("0") or "0"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{power}"


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE: Final = re.compile(r'["\\\x00-\x1f]')


def _json_string(s: str) -> str:
    def escape(m: re.Match[str]) -> str:
        c = m.group()
        return _JSON_ESCAPES.get(c) or f"\\u{ord(c):04x}"

    return '"' + _NEEDS_ESCAPE.sub(escape, s) + '"'


def json_text(value: JSON) -> str:
    """Render a JSON value as compact JSON text, as AWS (Jackson) writes it.

    Non-ASCII characters stay as they are; floats use Java's spelling (``1.0E20``).

    Args:
        value: any JSON value.

    Returns:
        The JSON text without insignificant whitespace.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_json_string(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def java_text(value: JSON) -> str:
    """Render a JSON value the way Java's ``toString`` does on the parsed value.

    This is what ``States.Format`` substitutes: strings as they are, objects as ``{a=1, b=[]}``,
    arrays as ``[1, 2]``, ``null``/``true``/``false``, floats as ``Double.toString``.

    Args:
        value: any JSON value.

    Returns:
        The text.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def java_class(value: JSON) -> str:
    """The Java class Jackson maps a JSON value onto (Jayway's "Expected to find an object" text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"
