"""Frozen objects for a parsed state machine definition.

:func:`~sluiceway.asl.parser.parse` turns a definition into a :class:`StateMachine` whose states
are one class per state type (:class:`TaskState`, :class:`MapState`...), each holding its fields
already checked and typed. The interpreter reads only these objects, never the definition's
JSON: a field's value as written survives only where it is evaluated when the state runs
(a :class:`Template`, a :class:`Setting`), and there it is kept as written because AWS
evaluates it then, and quotes it in its error messages.

Both query languages live in the same classes: JSONPath-only fields (``InputPath``,
``Parameters``, ``ResultSelector``, ``ResultPath``, ``OutputPath``, ``ItemsPath``, the
``*Path`` settings) and JSONata-only ones (``Arguments``, ``Output``, ``Items``, expressions
in settings) are separate attributes; the parser refuses a field the state's language does not
have, so the other language's attributes keep their defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ..types import JSON
from . import limits

if TYPE_CHECKING:
    from .choice import ChoiceRule

__all__ = [
    "NEVER_RETRIED",
    "UNCATCHABLE_BY_ALL",
    "Catcher",
    "ChoiceState",
    "ExecutionState",
    "FailState",
    "ItemBatcher",
    "ItemReader",
    "JsonataChoice",
    "MapState",
    "ParallelState",
    "PassState",
    "ProcessorConfig",
    "QueryLanguage",
    "ResultWriter",
    "Retrier",
    "Setting",
    "State",
    "StateMachine",
    "SucceedState",
    "TaskState",
    "Template",
    "WaitState",
]

QueryLanguage = Literal["JSONPath", "JSONata"]

#: Errors that ``States.ALL`` does not match. AWS documents States.DataLimitExceeded as
#: terminal too, but the recordings show ``States.ALL`` catching it when a task raises it.
UNCATCHABLE_BY_ALL = frozenset({"States.Runtime"})

#: Errors no retrier retries, whatever its ErrorEquals (AWS: both are terminal for Retry).
NEVER_RETRIED = frozenset({"States.Runtime", "States.DataLimitExceeded"})


# ------------------------------------------------------------------------- field values


@dataclass(frozen=True)
class Template:
    """A field whose value is built when the state runs, kept as written.

    JSONPath: a payload template (``Parameters``, ``ResultSelector``, ``ItemSelector``,
    ``Assign``...), whose ``.$`` keys hold paths or intrinsic functions (:mod:`.templates`).
    JSONata: any JSON value (``Arguments``, ``Output``, ``Items``...) whose ``{% %}`` strings are
    expressions, at any depth (:mod:`.jsonata`). ``Result`` is a template that is never evaluated.
    """

    value: JSON
    """The value as written in the definition."""


@dataclass(frozen=True)
class Setting:
    """A number or timestamp a state reads when it runs.

    Given as a literal (``TimeoutSeconds: 30``), as a reference path to the value
    (``TimeoutSecondsPath: "$.timeout"``) or, in JSONata, as an expression
    (``TimeoutSeconds: "{% $timeout %}"``).
    """

    name: str
    """The field without ``Path``: ``TimeoutSeconds``, ``MaxConcurrency``, ``Seconds``..."""
    value: JSON = None
    """The literal or the JSONata expression, when the value is given in the field itself."""
    path: str | None = None
    """The reference path of the ``<name>Path`` field (for ``Error``/``Cause``: a path or an
    intrinsic function)."""

    @property
    def field(self) -> str:
        """The definition field this came from: ``<name>Path`` or ``<name>``."""
        return f"{self.name}Path" if self.path is not None else self.name


# ------------------------------------------------------------------------- Retry and Catch


@dataclass(frozen=True)
class Retrier:
    """One entry of a state's ``Retry`` list: which errors it retries, how often and how late."""

    error_equals: tuple[str, ...]
    interval_s: float = 1.0
    """``IntervalSeconds``: the delay before the first retry."""
    max_attempts: int = 3
    """``MaxAttempts``: retries, not counting the first attempt (0: never retry)."""
    backoff_rate: float = 2.0
    """``BackoffRate``: each retry waits this many times longer than the one before."""
    max_delay_s: float | None = None
    """``MaxDelaySeconds``: the longest delay, whatever the backoff."""
    jitter: Literal["FULL", "NONE"] = "NONE"
    """``JitterStrategy``: ``FULL`` waits a random time up to the computed delay."""

    def delay_s(self, attempt: int) -> float:
        """The delay before retry number ``attempt + 1`` (``attempt`` retries already made), before jitter.

        Without ``MaxDelaySeconds`` AWS sets no bound, but no execution outlives a year: the
        longest timer AWS accepts anywhere bounds the delay without changing any execution that
        could finish.
        """
        try:
            delay = self.interval_s * (self.backoff_rate**attempt)
        except OverflowError:
            delay = math.inf
        return float(min(delay, limits.MAX_TIMER_SECONDS if self.max_delay_s is None else self.max_delay_s))


@dataclass(frozen=True)
class Catcher:
    """One entry of a state's ``Catch`` list."""

    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    """JSONPath ``ResultPath``: where the error output goes in the state's input (``null``: dropped)."""
    output: Template | None = None
    """JSONata ``Output``: the state's output when this catcher handles the error."""
    assign: Template | None = None


# ------------------------------------------------------------------------- states


@dataclass(frozen=True, kw_only=True)
class State:
    """Fields every state type has; the subclasses add their own.

    A field a state type does not take (``Next`` on a Succeed state, ``OutputPath`` on a Fail
    state) keeps its default here: the parser refuses it in the definition.
    """

    type: ClassVar[str] = ""
    """The ``Type`` the class stands for; history events are named after it (``TaskStateEntered``)."""

    name: str
    query_language: QueryLanguage
    comment: str | None = None
    next: str | None = None
    end: bool = False
    input_path: str | None = "$"
    """JSONPath ``InputPath`` (``None``: the state sees ``{}``)."""
    output_path: str | None = "$"
    """JSONPath ``OutputPath`` (``None``: the state's output is ``{}``)."""
    output: Template | None = None
    """JSONata ``Output``."""
    assign: Template | None = None
    """``Assign``: workflow variables set when the state exits (both languages)."""

    @property
    def is_terminal(self) -> bool:
        return self.end or self.type in ("Succeed", "Fail")


@dataclass(frozen=True, kw_only=True)
class PassState(State):
    type: ClassVar[str] = "Pass"

    result: Template | None = None
    """``Result``: the state's result as written (never evaluated)."""
    parameters: Template | None = None
    result_path: str | None = "$"


@dataclass(frozen=True, kw_only=True)
class SucceedState(State):
    type: ClassVar[str] = "Succeed"


@dataclass(frozen=True, kw_only=True)
class FailState(State):
    type: ClassVar[str] = "Fail"

    error: Setting | None = None
    """``Error`` (a string or a JSONata expression) or ``ErrorPath`` (a path or an intrinsic function)."""
    cause: Setting | None = None
    """``Cause`` or ``CausePath``, as :attr:`error`."""


@dataclass(frozen=True)
class JsonataChoice:
    """A Choice rule in JSONata mode: ``Condition`` decides, ``Next`` follows."""

    condition: JSON
    """The ``Condition`` as written: an expression (or a literal boolean)."""
    next: str
    assign: Template | None = None
    output: Template | None = None


@dataclass(frozen=True, kw_only=True)
class ChoiceState(State):
    type: ClassVar[str] = "Choice"

    choices: tuple[ChoiceRule | JsonataChoice, ...] = ()
    """JSONPath rules (:class:`~sluiceway.asl.choice.ChoiceRule`) or JSONata ones, in order."""
    default: str | None = None


@dataclass(frozen=True, kw_only=True)
class WaitState(State):
    type: ClassVar[str] = "Wait"

    seconds: Setting | None = None
    """``Seconds`` or ``SecondsPath``."""
    timestamp: Setting | None = None
    """``Timestamp`` or ``TimestampPath``."""


@dataclass(frozen=True, kw_only=True)
class ExecutionState(State):
    """Task, Parallel and Map: states that produce a result, and can Retry and Catch."""

    parameters: Template | None = None
    """JSONPath ``Parameters`` (for Map, the legacy name of ``ItemSelector``: see :attr:`MapState.item_selector`)."""
    arguments: Template | None = None
    """JSONata ``Arguments``."""
    result_selector: Template | None = None
    result_path: str | None = "$"
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TaskState(ExecutionState):
    type: ClassVar[str] = "Task"

    resource: str
    timeout: Setting | None = None
    """``TimeoutSeconds`` or ``TimeoutSecondsPath``."""
    heartbeat: Setting | None = None
    """``HeartbeatSeconds`` or ``HeartbeatSecondsPath``."""
    credentials: JSON = None
    """``Credentials``, passed to the runtime with the call."""


@dataclass(frozen=True, kw_only=True)
class ParallelState(ExecutionState):
    type: ClassVar[str] = "Parallel"

    branches: tuple[StateMachine, ...] = ()


@dataclass(frozen=True)
class ProcessorConfig:
    """A Map's ``ItemProcessor.ProcessorConfig``."""

    mode: str = "INLINE"
    """``INLINE`` or ``DISTRIBUTED`` (each iteration a child execution with its own history)."""
    execution_type: str | None = None
    """``STANDARD`` or ``EXPRESS``, for a Distributed Map."""


@dataclass(frozen=True)
class ItemReader:
    """A Distributed Map's ``ItemReader``: where its items come from."""

    resource: str
    parameters: Template | None = None
    """JSONPath ``Parameters`` of the read (bucket, key...)."""
    arguments: Template | None = None
    """JSONata ``Arguments`` of the read."""
    reader_config: Mapping[str, JSON] = field(default_factory=dict)
    """``ReaderConfig`` as written; the runtime's item parser reads its format settings
    (``InputType``, ``CSVHeaderLocation``...)."""
    max_items: Setting | None = None
    """``ReaderConfig.MaxItems`` or ``MaxItemsPath``."""


@dataclass(frozen=True)
class ItemBatcher:
    """A Map's ``ItemBatcher``: items are handed to iterations in batches."""

    max_items_per_batch: Setting | None = None
    max_input_bytes_per_batch: Setting | None = None
    batch_input: Template | None = None
    """``BatchInput``: added to every batch as ``BatchInput``."""


@dataclass(frozen=True)
class ResultWriter:
    """A Distributed Map's ``ResultWriter``: where the iterations' results are stored."""

    resource: str
    parameters: Template | None = None
    arguments: Template | None = None
    writer_config: Mapping[str, JSON] = field(default_factory=dict)
    """``WriterConfig`` as written, for the runtime."""


@dataclass(frozen=True, kw_only=True)
class MapState(ExecutionState):
    type: ClassVar[str] = "Map"

    item_processor: StateMachine
    """``ItemProcessor`` (or the legacy ``Iterator``)."""
    processor: ProcessorConfig = ProcessorConfig()
    items_path: str = "$"
    """JSONPath ``ItemsPath``."""
    items: Template | None = None
    """JSONata ``Items``: an array, or an expression that gives one."""
    item_selector: Template | None = None
    """``ItemSelector`` (or, in JSONPath, the legacy ``Parameters``): each iteration's input."""
    item_selector_field: str = "ItemSelector"
    """Which of the two names the definition used, for messages."""
    max_concurrency: Setting | None = None
    tolerated_failure_count: Setting | None = None
    tolerated_failure_percentage: Setting | None = None
    label: str | None = None
    item_reader: ItemReader | None = None
    item_batcher: ItemBatcher | None = None
    result_writer: ResultWriter | None = None

    @property
    def distributed(self) -> bool:
        return self.processor.mode == "DISTRIBUTED"


@dataclass(frozen=True)
class StateMachine:
    """A parsed definition (or one Parallel branch / Map item processor)."""

    start_at: str
    states: Mapping[str, State]
    query_language: QueryLanguage = "JSONPath"
    comment: str | None = None
    timeout_s: float | None = None
    definition: Mapping[str, Any] = field(default_factory=dict)
    """The definition as given, for callers that show it (as DescribeStateMachine does). The
    interpreter never reads it: it works from the typed states."""

    def must_state(self, name: str) -> State:
        try:
            return self.states[name]
        except KeyError:
            raise KeyError(f"no state named {name!r}") from None
