"""The engine's bounded regular expressions: :mod:`sluiceway.regexes`, under the engine's name.

The module moved to the base of the package when JSONPath, whose filters need it, became
shared with EventBridge; the engine's modules keep reaching it here.
"""

from __future__ import annotations

from sluiceway.regexes import MATCH_TIME_LIMIT_S, BoundedPattern, InvalidRegexError, RegexTimeoutError, compile

__all__ = ["MATCH_TIME_LIMIT_S", "BoundedPattern", "InvalidRegexError", "RegexTimeoutError", "compile"]
