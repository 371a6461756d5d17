"""Sluiceway's exception tree.

::

    SluicewayError
    ├── ConfigError                 a settings or pipeline config mistake, with its location
    ├── DefinitionError             issues: list[str]  (an invalid ASL definition)
    ├── ExecutionError
    │   ├── ExecutionNotFoundError
    │   ├── ExecutionAlreadyExistsError
    │   ├── OrchestratorStoppedError    a wait on an execution cut short by the orchestrator's stop
    │   └── StatesError             error: str, cause: str  (visible to Retry/Catch)
    ├── HandlerError                error_type: str, retryable: bool
    ├── DataError                   a file or record that cannot be used (names file/line/field)
    ├── EventPatternError           an invalid EventBridge pattern (AWS's message)
    └── BackendError                original kept as __cause__
        ├── NotFoundError
        ├── ConflictError
        │   ├── PreconditionFailedError   an object is not the version the caller read (S3's 412)
        │   └── StackRunningError         another stack runs on the data dir
        ├── InvalidNameError        an outside name (key, id, path) that may not reach storage
        └── BackendUnavailableError (retryable)

Programmer mistakes stay builtin (``ValueError``, ``TypeError``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DefinitionError",
    "EventPatternError",
    "ExecutionAlreadyExistsError",
    "ExecutionError",
    "ExecutionNotFoundError",
    "HandlerError",
    "InvalidNameError",
    "NotFoundError",
    "OrchestratorStoppedError",
    "PreconditionFailedError",
    "SluicewayError",
    "StackRunningError",
    "StatesError",
]


class SluicewayError(Exception):
    """Root of every error Sluiceway raises on purpose."""


class ConfigError(SluicewayError):
    """A settings value or pipeline config is wrong; the message names where."""


class DefinitionError(SluicewayError):
    """An ASL definition is invalid. ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[str]) -> None:
        self.issues = list(issues)
        super().__init__("invalid state machine definition:\n" + "\n".join(f"  - {i}" for i in self.issues))


class ExecutionError(SluicewayError):
    """Something about a state machine execution."""


class ExecutionNotFoundError(ExecutionError):
    """No execution with that ARN or name."""


class ExecutionAlreadyExistsError(ExecutionError):
    """An execution with that name exists with a different input."""


class OrchestratorStoppedError(ExecutionError):
    """The orchestrator stopped while something waited for an execution to end (it ends after the next start)."""


class StatesError(ExecutionError):
    """An ASL-level error, matched by Retry/Catch ``ErrorEquals``.

    Attributes:
        error: the error name, e.g. ``States.TaskFailed`` or a custom name.
        cause: a human-readable (often JSON) explanation.
    """

    def __init__(self, error: str, cause: str = "") -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)


class HandlerError(SluicewayError):
    """A function handler failed.

    Attributes:
        error_type: the Lambda-style ``errorType`` (exception class name).
        retryable: whether running it again could succeed.
    """

    def __init__(self, message: str, *, error_type: str = "HandlerError", retryable: bool = True) -> None:
        self.error_type = error_type
        self.retryable = retryable
        super().__init__(message)


class DataError(SluicewayError):
    """Input data that cannot be used at all (not text, wrong header, empty...)."""


class EventPatternError(SluicewayError):
    """An EventBridge event pattern is invalid; the message is AWS's."""


class BackendError(SluicewayError):
    """A storage or messaging backend failed; the original is ``__cause__``."""


class NotFoundError(BackendError):
    """The named object, item, queue or topic does not exist."""


class ConflictError(BackendError):
    """A write lost to a condition: the key exists, a version moved on."""


class PreconditionFailedError(ConflictError):
    """A read or write conditioned on an object's ETag (``If-Match``) met another version."""


class StackRunningError(ConflictError):
    """Another local stack runs on the data dir (one at a time: they would run the same work twice)."""


class InvalidNameError(BackendError):
    """A name from outside (object key, bucket, id) is not allowed to reach storage."""


class BackendUnavailableError(BackendError):
    """The backend could not be reached; retrying may help."""
