"""Frozen objects for a parsed state machine definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..types import JSON

QueryLanguage = Literal["JSONPath", "JSONata"]

#: Errors that ``States.ALL`` does not match. AWS documents States.DataLimitExceeded as
#: terminal too, but the recordings show ``States.ALL`` catching it when a task raises it.
UNCATCHABLE_BY_ALL = frozenset({"States.Runtime"})

#: Errors no retrier retries, whatever its ErrorEquals (AWS: both are terminal for Retry).
NEVER_RETRIED = frozenset({"States.Runtime", "States.DataLimitExceeded"})


@dataclass(frozen=True)
class Retrier:
    """One entry of a state's ``Retry`` list."""

    error_equals: tuple[str, ...]
    interval_s: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_s: float | None = None
    jitter: Literal["FULL", "NONE"] = "NONE"


@dataclass(frozen=True)
class Catcher:
    """One entry of a state's ``Catch`` list."""

    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    output: JSON = None
    has_output: bool = False
    assign: Mapping[str, JSON] | None = None


@dataclass(frozen=True)
class State:
    """Fields common to every state type; type-specific ones live in ``spec``."""

    name: str
    type: str
    query_language: QueryLanguage
    next: str | None = None
    end: bool = False
    comment: str | None = None
    input_path: str | None = "$"
    output_path: str | None = "$"
    parameters: JSON = None
    has_parameters: bool = False
    result_selector: JSON = None
    has_result_selector: bool = False
    result_path: str | None = "$"
    arguments: JSON = None
    has_arguments: bool = False
    output: JSON = None
    has_output: bool = False
    assign: Mapping[str, JSON] | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict)
    """The raw definition of this state (type-specific fields are read from it)."""
    branches: tuple[StateMachine, ...] = ()
    """Parallel branches, or the single Map item processor."""
    choices: tuple[Any, ...] = ()
    """Parsed Choice rules (``choice.ChoiceRule``) or JSONata ``(condition, next, assign, output)`` tuples."""

    @property
    def is_terminal(self) -> bool:
        return self.end or self.type in ("Succeed", "Fail")


@dataclass(frozen=True)
class StateMachine:
    """A parsed definition (or one Parallel branch / Map item processor)."""

    start_at: str
    states: Mapping[str, State]
    query_language: QueryLanguage = "JSONPath"
    comment: str | None = None
    timeout_s: float | None = None
    definition: Mapping[str, Any] = field(default_factory=dict)

    def must_state(self, name: str) -> State:
        try:
            return self.states[name]
        except KeyError:
            raise KeyError(f"no state named {name!r}") from None
