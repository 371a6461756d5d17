"""JSONata expressions for states in ``"QueryLanguage": "JSONata"`` mode.

(This module is longer than the engine's others: it is one adapter around jsonata-python whose
parts share private state, the evaluation's context variable and the conversion of values, and
splitting it would only turn those into a public surface.)

A field value is an expression when it is a string that starts with ``{%`` and ends
with ``%}``. Whitespace outside the delimiters makes it a plain string, as on AWS
(``" {% $x %} "`` stays a literal); whitespace inside them is not part of the
expression (``'{% $x %}'`` reports the expression as ``'$x'``).

Evaluation runs on jsonata-python, set up the way Step Functions sets up JSONata:

* There is no context item: ``$`` is undefined. ``$states`` (``input``, ``result``,
  ``errorOutput``, ``context``, whichever the caller binds) and every workflow
  variable are bound as ``$name``.
* Step Functions' own functions are added: ``$partition``, ``$range``, ``$hash``,
  ``$random`` (optionally seeded), ``$uuid`` and ``$parse``. ``$eval`` is not
  available: calling it fails with ``T1006``, as on AWS.
* ``$random()`` and ``$uuid()`` draw from the ``rng`` the caller passes, so a seeded
  ``random.Random`` replays an execution exactly. ``$now()`` and ``$millis()``
  answer the ``now`` the caller passes (the module never reads the clock).

Undefined. JSON cannot hold JSONata's ``undefined``. :func:`evaluate` returns the
:data:`UNDEFINED` sentinel and leaves the decision to the caller. :func:`resolve`,
which builds a whole field (``Arguments``, ``Output``, ``Assign``, ``Items``,
``Condition``, ``Seconds``, ...), fails with ``States.QueryEvaluationError`` wherever
an expression evaluates to undefined: the whole field, an object member or an array
element. Keys are never dropped silently; AWS fails ``{"FunctionName": "{% $missing %}"}``
with "... specified for the field 'Arguments/FunctionName' returned nothing
(undefined).". Inside one expression JSONata's own rules apply: an object
constructor leaves out a member whose value is undefined, so ``"{% {'a': $missing} %}"``
is ``{}``.

Errors are :class:`~sluiceway.errors.StatesError` with ``States.QueryEvaluationError``
and AWS's cause text without the ``An error occurred while executing the state ...``
prefix, which the interpreter adds.

Bounds. No expression may hang or crash the engine. An evaluation fails once it has taken
:data:`EVALUATION_STEP_LIMIT` steps (a count, not a clock: the same expression on the same
data always gets as far, on any machine), regex literals are matched by
:mod:`~sluiceway.regexes` (each match bounded in time, so no catastrophic backtracking),
and an expression nested too deeply for the parser is a syntax error, not a RecursionError.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import random
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from jsonata.functions import Functions  # type: ignore[import-untyped]
from jsonata.jexception import JException  # type: ignore[import-untyped]
from jsonata.jsonata import Jsonata  # type: ignore[import-untyped]
from jsonata.parser import Parser  # type: ignore[import-untyped]
from jsonata.utils import Utils  # type: ignore[import-untyped]

from sluiceway import regexes
from sluiceway.asl import limits
from sluiceway.errors import StatesError
from sluiceway.types import JSON, json_type

__all__ = [
    "EVALUATION_STEP_LIMIT",
    "QUERY_EVALUATION_ERROR",
    "QueryEvaluationError",
    "UNDEFINED",
    "Undefined",
    "evaluate",
    "expression_text",
    "is_expression",
    "resolve",
    "syntax_error",
]

logger = logging.getLogger(__name__)

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
"""The ASL error name of every failure raised here."""

EVALUATION_STEP_LIMIT: Final = 5_000_000
"""How many steps (evaluations of a node of the expression) one evaluation may take. AWS
publishes no limit; this stops a runaway, such as an endless tail-recursive function, after
half a minute at most, while the heaviest expressions a 256 KiB payload or a full ``$range``
can feed take well under a million."""

_TOO_DEEP: Final = "The expression is nested too deeply to be parsed"


class QueryEvaluationError(StatesError):
    """``States.QueryEvaluationError``: a JSONata field could not be evaluated.

    AWS records the failure in an EvaluationFailed history event that names the field.
    """

    def __init__(self, cause: str, *, location: str | None = None) -> None:
        super().__init__(QUERY_EVALUATION_ERROR, cause)
        self.location = location
        """Where the evaluation failed: the field (``Items``, ``Output/result``), when known."""


class Undefined:
    """The type of :data:`UNDEFINED`: JSONata's ``undefined``, which JSON cannot hold."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = Undefined()
"""What :func:`evaluate` returns when the expression yields nothing (not JSON ``null``)."""

_OPEN: Final = "{%"
_CLOSE: Final = "%}"

# Step Functions builds at most this many elements in one $range call. Past it AWS
# refuses with its memory-limit message; the bound also keeps a typo such as
# $range(0, 1e12, 1) from exhausting the worker.
_RANGE_LIMIT: Final = 360_145
_MEMORY_LIMIT_MESSAGE: Final = (
    "Expression evaluation memory limit exceeded: Check for excessive memory usage"
)

_HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

# jsonata-python's signature errors name array subtypes by letter; JSONata's
# messages use these words.
_ARRAY_SUBTYPES: Final = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}

_PLACEHOLDER = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")
_CODED = re.compile(r"[STD]\d{4}: ")
# jsonata-python inherited its catalogue from a port that renamed every "function"
# to "Object"; JSONata says "function".
_CODE_BY_MESSAGE: Final = {
    str(text).replace("Object", "function"): code
    for code, text in JException.error_codes.items()
    if "{{" not in str(text)
}
_COMPILED_CACHE_SIZE: Final = 1024


def is_expression(value: Any) -> bool:
    """Tell whether a field value is a JSONata expression.

    Args:
        value: any JSON value from a definition.

    Returns:
        True for a string that starts with ``{%`` and ends with ``%}``, with nothing
        (not even whitespace) outside the delimiters.
    """
    return (
        isinstance(value, str)
        and len(value) >= len(_OPEN) + len(_CLOSE)
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
    )


def expression_text(value: str) -> str:
    """Return the expression inside ``{% ... %}``, without surrounding whitespace.

    This is the text AWS quotes in its error messages.

    Args:
        value: a string for which :func:`is_expression` is true.

    Raises:
        ValueError: if ``value`` is not an expression.
    """
    if not is_expression(value):
        raise ValueError(f"not a JSONata expression: {value!r}")
    return value[len(_OPEN) : -len(_CLOSE)].strip()


def syntax_error(expression: str) -> str | None:
    """Check that an expression parses, for definition validation.

    Args:
        expression: the text between ``{%`` and ``%}``.

    Returns:
        None when it parses, else JSONata's ``"<code>: <message>"``
        (e.g. ``'S0201: Syntax error: "b"'``).
    """
    try:
        _compiled(expression.strip())
    except JException as exc:
        return _describe_jsonata_error(exc)
    return None


def evaluate(
    expression: str,
    bindings: Mapping[str, JSON],
    rng: random.Random,
    *,
    field: str,
    now: datetime | None = None,
    step_limit: int = EVALUATION_STEP_LIMIT,
) -> JSON:
    """Evaluate one JSONata expression.

    Safe to call from several threads at once; each expression text is parsed once
    and the parse is shared.

    Args:
        expression: the text between ``{%`` and ``%}`` (surrounding whitespace is ignored).
        bindings: variable name -> JSON value, each visible as ``$name``: ``states``
            (``{"input", "result", "errorOutput", "context"}``, whichever exist) and
            the workflow variables in scope.
        rng: the source for ``$random()`` and ``$uuid()``.
        field: where the expression sits in the state, for messages
            (``"Output"``, ``"Arguments/FunctionName"``, ``"Items"``).
        now: the evaluation time, answered by ``$now()`` and ``$millis()``; a naive
            datetime is taken as UTC.
        step_limit: how many steps the evaluation may take before it fails.

    Returns:
        A plain JSON value (dict, list, str, int, float, bool, None for JSON
        ``null``), or :data:`UNDEFINED` when the expression yields nothing.

    Raises:
        StatesError: ``States.QueryEvaluationError`` when evaluation fails, with
            AWS's cause ("The JSONata expression '...' specified for the field '...'
            threw an error during evaluation. T1006: ...").
        ValueError: if the expression calls ``$now()``/``$millis()`` and ``now`` is None.
    """
    text = expression.strip()
    return _evaluate(text, field, _Scope(bindings, _Call(rng, now, step_limit)))


def resolve(
    template: JSON,
    bindings: Mapping[str, JSON],
    rng: random.Random,
    *,
    field: str,
    now: datetime | None = None,
    expected: str | None = None,
    step_limit: int = EVALUATION_STEP_LIMIT,
) -> JSON:
    """Build a field's value: evaluate every ``{% %}`` string in a template.

    Objects and arrays are walked recursively; other values and all object keys are
    kept as written. An expression that yields undefined fails the field (see the
    module docstring), naming its place: ``Output/a/b`` for object members and
    ``Output/a[0]`` for array elements.

    Args:
        template: the field's value from the definition (``Arguments``, ``Output``,
            ``Assign``, ``Items``, ``Condition``, ``TimeoutSeconds``, ...).
        bindings: as for :func:`evaluate`.
        rng: as for :func:`evaluate`.
        field: the field's name, e.g. ``"Output"`` or ``"Catch[0]/Output"``.
        now: as for :func:`evaluate`.
        expected: when the whole field is one expression, the JSON type its result
            must have (``"array"``, ``"object"``, ``"string"``, ``"number"``,
            ``"boolean"``, ``"null"``), e.g. ``"array"`` for ``Items``.
        step_limit: as for :func:`evaluate`, for each expression.

    Returns:
        A new JSON value; the template and the bindings are not modified.

    Raises:
        StatesError: ``States.QueryEvaluationError`` when an expression fails,
            yields undefined, or yields the wrong type.
        ValueError: if an expression calls ``$now()``/``$millis()`` and ``now`` is None.
    """
    scope = _Scope(bindings, _Call(rng, now, step_limit))
    value = _resolve(template, field, scope)
    if expected is not None and is_expression(template):
        actual = json_type(value)
        if actual != expected:
            raise QueryEvaluationError(
                f"The JSONata expression '{expression_text(template)}' specified for the field "
                f"'{field}' returned an unexpected result type. Expected '{expected}', "
                f"but was '{actual}' for value: {_compact(value)}",
                location=field,
            )
    return value


# --- evaluation ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """What Step Functions' functions need during one evaluation."""

    rng: random.Random
    now: datetime | None
    step_limit: int = EVALUATION_STEP_LIMIT


class _Scope:
    """One resolve/evaluate call: the bindings, converted once and only if needed."""

    __slots__ = ("_bindings", "_variables", "call")

    def __init__(self, bindings: Mapping[str, JSON], call: _Call) -> None:
        self._bindings = bindings
        self._variables: dict[str, Any] | None = None
        self.call = call

    @property
    def variables(self) -> dict[str, Any]:
        # A fresh copy in jsonata-python's data model: JSON null becomes its
        # NULL_VALUE (a bare None means undefined there), and nothing the library
        # does can reach the caller's objects.
        if self._variables is None:
            self._variables = {name: _to_jsonata(value) for name, value in self._bindings.items()}
        return self._variables


class _NativeError(Exception):
    """A failure raised by one of Step Functions' functions, carrying AWS's text."""


class _NonFiniteError(Exception):
    """An expression produced Infinity or NaN, which JSON cannot hold."""


_CALL: ContextVar[_Call] = ContextVar("sluiceway_asl_jsonata_call")
_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()


def _compiled(text: str) -> Any:
    """Parse once per expression text; raises JException on a syntax error."""
    with _cache_lock:
        compiled = _cache.get(text)
        if compiled is not None:
            _cache.move_to_end(text)
            return compiled
    try:
        compiled = Jsonata(text, _regex_literal)
    except JException:
        raise
    except RecursionError:
        # jsonata-python's parser recurses for every level of brackets and every operator of
        # a chain such as 1+1+...; no text-level check can tell how deep it will go.
        raise JException(_TOO_DEEP, 0) from None
    except Exception as exc:  # noqa: BLE001 - the library's parser must not crash definition checks
        # It lets some Python errors escape on malformed input (IndexError for "/*a/").
        raise JException(f"The expression could not be parsed: {type(exc).__name__}: {exc}", 0) from None
    with _cache_lock:
        _cache[text] = compiled
        while len(_cache) > _COMPILED_CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


class _StepBudget:
    """jsonata-python's evaluation-entry hook: fails the evaluation once it has taken its steps."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def __call__(self, expression: Any, input: Any, environment: Any) -> None:  # noqa: A002 - the library's names
        self.left -= 1
        if self.left < 0:
            raise JException(f"The evaluation exceeded its budget of {self.limit} steps. Check for infinite loop", -1)


def _regex_literal(pattern: str, flags: Any) -> regexes.BoundedPattern:
    """jsonata-python's regex engine hook: every JSONata regex literal is matched with a time limit."""
    try:
        return regexes.compile(pattern, ignore_case=flags.case_insensitive, multiline=flags.multiline)
    except regexes.InvalidRegexError as exc:
        raise JException(f"Invalid regular expression: /{pattern}/: {exc}", 0) from None


def _run(text: str, scope: _Scope) -> Any:
    """Evaluate with jsonata-python and return its raw result."""
    compiled = _compiled(text)
    # A parsed Jsonata object keeps per-evaluation state (input, environment,
    # timestamp) on itself, and its evaluator looks the running instance up in a
    # thread-local. A shallow copy per call, registered as this thread's instance,
    # shares the read-only syntax tree and keeps concurrent calls apart.
    instance = copy.copy(compiled)
    instance.environment = Jsonata.Frame(_STEP_FUNCTIONS_FRAME)
    # Tail calls run in place, so an endless recursive function never overflows the stack:
    # only counting steps stops it.
    instance.environment.bind("__evaluate_entry", _StepBudget(scope.call.step_limit))
    # The parser is stateful and partial application re-enters it: use this thread's.
    instance.parser = Jsonata.get_parser()
    instance.output_convert_nulls = False
    current = Jsonata.CURRENT
    had_previous = hasattr(current, "jsonata")
    previous = getattr(current, "jsonata", None)
    current.jsonata = instance
    token = _CALL.set(scope.call)
    try:
        return instance.evaluate(None, scope.variables)
    finally:
        _CALL.reset(token)
        if had_previous:
            current.jsonata = previous
        else:
            del current.jsonata


def _evaluate(text: str, field: str, scope: _Scope) -> JSON:
    try:
        return _from_jsonata(_run(text, scope), top=True)
    except _NowMissingError:
        raise
    except JException as exc:
        described = _describe_jsonata_error(exc)
        # Errors from JSONata's catalogue read "<code>: <message>"; one without a
        # code reads like Step Functions' own failures.
        detail = (". " if _CODED.match(described) else ": ") + described
    except (_NativeError, regexes.RegexTimeoutError) as exc:
        detail = f": {exc}"
    except (ZeroDivisionError, OverflowError, _NonFiniteError):
        detail = ". D1001: Number out of range"
    except RecursionError:
        detail = ". " + _describe_code("D1011", ())
    except Exception as exc:  # noqa: BLE001 - a user expression must never crash the interpreter
        # jsonata-python lets some Python errors escape (e.g. ValueError from
        # $number('x')); they are still the expression's failure.
        logger.debug("jsonata raised a non-JSONata error", exc_info=True)
        detail = f": {exc}"
    raise QueryEvaluationError(
        f"The JSONata expression '{text}' specified for the field '{field}' threw an error during evaluation{detail}",
        location=field,
    )


def _resolve(template: JSON, field: str, scope: _Scope) -> JSON:
    if isinstance(template, str):
        if not is_expression(template):
            return template
        text = expression_text(template)
        value = _evaluate(text, field, scope)
        if value is UNDEFINED:
            raise QueryEvaluationError(
                f"The JSONata expression '{text}' specified for the field '{field}' returned nothing (undefined).",
                location=field,
            )
        return value
    if isinstance(template, Mapping):
        return {key: _resolve(value, f"{field}/{key}", scope) for key, value in template.items()}
    if isinstance(template, list):
        return [_resolve(value, f"{field}[{index}]", scope) for index, value in enumerate(template)]
    return template


# --- data conversion ---------------------------------------------------------------------


def _to_jsonata(value: Any) -> Any:
    if value is None:
        return Utils.NULL_VALUE
    if isinstance(value, Mapping):
        return {key: _to_jsonata(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonata(item) for item in value]
    return value


def _is_function(value: Any) -> bool:
    return isinstance(value, (Jsonata.JFunctionCallable, Parser.Symbol, re.Pattern, regexes.BoundedPattern))


def _from_jsonata(value: Any, *, top: bool) -> Any:
    """jsonata-python's result -> plain JSON, following JSON.stringify's rules."""
    if value is None:
        # At the top a bare None is undefined. Nested, JSONata has already left
        # undefined out of arrays and objects, so a None there is a null that a
        # library function (e.g. $clone via a JSON round trip) unwrapped.
        return UNDEFINED if top else None
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NonFiniteError
        # JSONata numbers are doubles; a whole one is written without a fraction.
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, dict):
        return {
            key: _from_jsonata(item, top=False)
            for key, item in value.items()
            if not _is_function(item)
        }
    if isinstance(value, list):
        return [None if _is_function(item) else _from_jsonata(item, top=False) for item in value]
    # A function or regex: JSON has no form for it.
    return UNDEFINED if top else None



def _compact(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- error messages ------------------------------------------------------------------


def _describe_jsonata_error(exc: Any) -> str:
    """``"<code>: <message>"`` worded as JSONata (JavaScript) words it."""
    code = str(exc.error)
    if code not in JException.error_codes:
        # jsonata-python raises a few catalogue errors by their text alone.
        known = _CODE_BY_MESSAGE.get(code)
        return f"{known}: {code}" if known else code
    args: tuple[Any, ...] = (exc.current, exc.expected, exc.extra)
    if code == "T0412" and isinstance(exc.extra, str):
        args = (exc.current, exc.expected, _ARRAY_SUBTYPES.get(exc.extra, exc.extra))
    if code in ("T0410", "T0411") and exc.current is None:
        # Some built-ins raise a bare signature error without the argument's details.
        return f"{code}: Argument does not match function signature"
    return _describe_code(code, args)


def _describe_code(code: str, args: tuple[Any, ...]) -> str:
    template = str(JException.error_codes.get(code, code)).replace("Object", "function")
    values = iter(args)

    def fill(match: re.Match[str]) -> str:
        value = next(values, None)
        if match.group(1) is not None:
            return "undefined" if value is None else str(value)
        return _stringify(value)

    return f"{code}: {_PLACEHOLDER.sub(fill, template)}"


def _stringify(value: Any) -> str:
    """JSON.stringify as JSONata uses it to fill ``{{value}}`` in messages."""
    if value is None:
        return "undefined"
    try:
        plain = _from_jsonata(value, top=True)
    except _NonFiniteError:
        return "null"
    if plain is UNDEFINED:
        return "undefined"
    return _compact(plain)


# --- Step Functions' functions --------------------------------------------------------------


class _NowMissingError(ValueError):
    """The caller did not pass ``now`` but the expression asked for the time."""


class _Native(Jsonata.JFunctionCallable):  # type: ignore[misc]
    """Adapts a Python function to jsonata-python's function-call protocol.

    The functions check their own arguments: jsonata-python's signature checker
    names the wrong argument in its T0410 message.
    """

    def __init__(self, name: str, function: Callable[..., Any], arity: tuple[int, int]) -> None:
        self._name = name
        self._function = function
        self._least, self._most = arity

    def call(self, input: Any, args: Any) -> Any:  # noqa: A002 - the library's parameter name
        given = list(args or ())
        if len(given) > self._most:
            raise _signature_error(self._most + 1, self._name)
        if len(given) < self._least:
            raise _signature_error(len(given) + 1, self._name)
        return self._function(*given)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _signature_error(index: int, name: str) -> Any:
    return JException("T0410", -1, index, name)


def _whole(value: Any, index: int, name: str) -> int:
    """A numeric argument rounded towards zero, as Step Functions' functions do."""
    if not _is_number(value) or not math.isfinite(value):
        raise _signature_error(index, name)
    return int(math.trunc(value))


def _partition(array: Any, size: Any = None) -> Any:
    if array is None or size is None:
        return None
    if not isinstance(array, list):
        array = [array]
    chunk = _whole(size, 2, "partition")
    if chunk < 1 or not array:
        return None
    return [list(array[start : start + chunk]) for start in range(0, len(array), chunk)]


def _range(start: Any, end: Any = None, step: Any = None) -> Any:
    for index, value in enumerate((start, end, step), start=1):
        if value is not None and not _is_number(value):
            raise _signature_error(index, "range")
    if start is None or end is None or step is None:
        return None
    first = _whole(start, 1, "range")
    last = _whole(end, 2, "range")
    stride = _whole(step, 3, "range")
    if stride == 0 or (stride > 0 and first > last) or (stride < 0 and first < last):
        return None
    count = (last - first) // stride + 1
    if count > _RANGE_LIMIT:
        raise _NativeError(_MEMORY_LIMIT_MESSAGE)
    values = list(range(first, last + (1 if stride > 0 else -1), stride))
    # A single value is returned bare, as a one-item JSONata sequence would be.
    return values[0] if len(values) == 1 else values


def _hash(data: Any, algorithm: Any = None) -> Any:
    if data is None or algorithm is None:
        return None
    if not isinstance(data, str):
        raise _signature_error(1, "hash")
    if not isinstance(algorithm, str):
        raise _signature_error(2, "hash")
    name = _HASH_ALGORITHMS.get(algorithm)
    if name is None:
        supported = ", ".join(_HASH_ALGORITHMS)
        raise _NativeError(
            f"The hash algorithm '{algorithm}' is not supported; use one of {supported}"
        )
    return hashlib.new(name, data.encode("utf-8"), usedforsecurity=False).hexdigest()


def _random(seed: Any = None) -> Any:
    if seed is None:
        return _CALL.get().rng.random()
    if not _is_number(seed) or not math.isfinite(seed):
        raise _signature_error(1, "random")
    # The same seed gives the same number in every execution, independent of rng.
    key: int | float = int(seed) if float(seed).is_integer() else float(seed)
    return random.Random(key).random()


def _uuid() -> str:
    return str(uuid.UUID(int=_CALL.get().rng.getrandbits(128), version=4))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse(text: Any) -> Any:
    if text is None:
        return None
    if not isinstance(text, str):
        raise _signature_error(1, "parse")
    try:
        value = limits.load_json(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise _NativeError(f"Unable to parse the JSON string: {exc}") from exc
    return _to_jsonata(value)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _count(value: Any = None) -> int:
    # jsonata-python answers 0 for $count(null); JSONata (and AWS) count the null.
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


def _now_millis() -> int:
    now = _CALL.get().now
    if now is None:
        raise _NowMissingError(
            "the expression calls $now() or $millis(): pass now= to evaluate()/resolve()"
        )
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - _EPOCH) // timedelta(milliseconds=1)


def _now(picture: Any = None, zone: Any = None) -> Any:
    for index, value in enumerate((picture, zone), start=1):
        if value is not None and not isinstance(value, str):
            raise _signature_error(index, "now")
    return Functions.datetime_from_millis(_now_millis(), picture, zone)


def _millis() -> int:
    return _now_millis()


def _step_functions_frame() -> Any:
    """A read-only frame over JSONata's built-ins with Step Functions' changes."""
    frame = Jsonata.Frame(Jsonata.static_frame)
    functions: dict[str, tuple[Callable[..., Any], tuple[int, int]]] = {
        "partition": (_partition, (2, 2)),
        "range": (_range, (2, 3)),
        "hash": (_hash, (1, 2)),
        "random": (_random, (0, 1)),
        "uuid": (_uuid, (0, 0)),
        "parse": (_parse, (1, 1)),
        "now": (_now, (0, 2)),
        "millis": (_millis, (0, 0)),
        "count": (_count, (1, 1)),
    }
    for name, (function, arity) in functions.items():
        frame.bind(name, Jsonata.JFunction(_Native(name, function, arity), None))
    # Bound to nothing rather than removed, so a call fails like any non-function (T1006).
    frame.bind("eval", None)
    return frame


_STEP_FUNCTIONS_FRAME: Final = _step_functions_frame()
