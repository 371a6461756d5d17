"""ListSecrets' and BatchGetSecretValue's ``Filters``.

Filters combine with AND (two filters on one key too); a filter's values with OR. ``name``,
``tag-key``, ``tag-value``, ``primary-region`` and ``owning-service`` match a prefix,
case-sensitively. ``description`` and ``all`` match words, not case-sensitively: the value is
broken into words, and each must begin a word of one attribute (``all`` looks in the name, the
description and the tags' keys and values). A value starting with ``!`` negates.

AWS's words, as recorded answers of real Secrets Manager show them: text is split on one kind of
separator (``/ - _ + = . @``; text holding two kinds is one word), then before each capital that
starts a run of lowercase letters (``COMPANYthings`` is ``COMPAN`` + ``Ythings``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from ...backends.local.secrets import Secret
from ..errors import AwsError

__all__ = ["check_filters", "matches"]

KEYS: Final = ("description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all")
_SEPARATORS: Final = "/-_+=.@"
_CAPITALIZED: Final = re.compile(r"([^a-z][a-z]+)")


def check_filters(filters: Sequence[Mapping[str, Any]]) -> None:
    """Raises ValidationException for a key outside the model's enum, as AWS validates it."""
    for given in filters:
        if given.get("Key") is None:
            raise AwsError("InvalidParameterException", "Invalid filter key")
        if not given.get("Values"):
            raise AwsError("InvalidParameterException", f"Invalid filter values for key: {given['Key']}")
    problems = [
        f"Value '{f.get('Key')}' at 'filters.{i}.member.key' failed to satisfy constraint: Member must satisfy enum value set: "
        f"[{', '.join(KEYS)}]"
        for i, f in enumerate(filters, 1)
        if f.get("Key") not in KEYS
    ]
    if problems:
        count = len(problems)
        raise AwsError("ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems))


def _words(text: str) -> list[str]:
    if text in _SEPARATORS:
        return []
    kinds = [c for c in _SEPARATORS if c in text]
    if len(kinds) > 1:
        return [text.lower()]
    parts = text.split(kinds[0]) if kinds else [text]
    return [w.strip().lower() for part in parts for w in _CAPITALIZED.split(part) if w.strip()]


def _prefix(value: str, attributes: Iterable[str]) -> bool:
    return any(a.startswith(value) for a in attributes)


def _all_words(value: str, attributes: Iterable[str]) -> bool:
    wanted = _words(value)
    return bool(wanted) and any(all(any(w.startswith(x) for w in _words(a)) for x in wanted) for a in attributes)


def _attributes(secret: Secret, key: str, region: str) -> list[str]:
    tags = secret.tags or ()
    if key == "name":
        return [secret.name]
    if key == "description":
        return [secret.description] if secret.description else []
    if key == "tag-key":
        return [k for k, _ in tags]
    if key == "tag-value":
        return [v for _, v in tags]
    if key == "primary-region":
        return [region]
    if key == "owning-service":
        return []  # secrets made by other services are not emulated
    return [secret.name, *([secret.description] if secret.description else []), *(k for k, _ in tags), *(v for _, v in tags)]


def _one(secret: Secret, key: str, value: str, region: str) -> bool:
    attributes = _attributes(secret, key, region)
    test: Callable[[str, Iterable[str]], bool]
    if key in ("all", "description"):
        test = _all_words
    else:

        def test(v: str, a: Iterable[str]) -> bool:
            return _prefix(v, a)

    if value.startswith("!"):
        return not test(value[1:], attributes)
    return test(value, attributes)


def matches(secret: Secret, filters: Sequence[Mapping[str, Any]], region: str) -> bool:
    return all(any(_one(secret, f["Key"], v, region) for v in f.get("Values") or ()) for f in filters)
