"""Amazon EventBridge event patterns: compile once, match many events.

The language is EventBridge's own (AWS runs the open-source ``aws/event-ruler``
engine behind it), and so are the edge cases, which this module follows on
purpose because users test rules locally and expect the same answer on AWS:

* A pattern is a JSON object. Nested objects nest; every leaf is a non-empty
  array of alternatives: exact values (strings, numbers by value, ``true``,
  ``false``, ``null``) or one-key objects (``prefix``, ``suffix``,
  ``equals-ignore-case``, ``wildcard``, ``anything-but``, ``numeric``,
  ``exists``, ``cidr``). ``$or`` takes an array of at least two objects; a
  pattern whose ``$or`` AWS's parser refuses is read again with ``$or`` as a
  plain field name, as AWS does, and that reading gives the verdict.
* A repeated key keeps its last value; a string that is an IP address matches
  that address however the event spells it.
* Keys are joined with ``.`` into paths, in the pattern and in the event, so
  ``{"a.b": [...]}`` and ``{"a": {"b": [...]}}`` are the same pattern and both
  see ``{"a": {"b": 1}}`` and ``{"a.b": 1}``.
* Arrays in events are flattened: a field matches if any element matches.
  Two fields taken from objects inside the same array must come from the same
  element (EventBridge's "array-consistent" matching).
* Only leaves exist: an empty array, an empty object or an object-valued field
  does not exist for ``exists``; ``null`` does.
* Invalid patterns raise :class:`~sluiceway.errors.EventPatternError` with the
  message AWS gives (``Event pattern is not valid. Reason: ...``). Checks run in
  document order, as AWS's streaming parser does, so the first problem wins.

The package follows the steps AWS takes: ``_tokens`` reads the JSON as Jackson
does, ``_compiler`` turns the tokens into branches of specs as event-ruler does
(``_values`` and ``_wildcards`` hold its rules for numbers, IP addresses and
wildcards), ``_matcher`` tests events against compiled branches, ``_pattern``
holds :class:`Pattern` and :func:`compile_pattern`, and ``_index`` the
:class:`RuleIndex` that matches one event against many rules; ``_errors`` words a
refusal as AWS does ("Event pattern is not valid. Reason: ...").

The package is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from ._index import RuleIndex
from ._pattern import Pattern, compile_pattern, matches

__all__ = ["Pattern", "RuleIndex", "compile_pattern", "matches"]
