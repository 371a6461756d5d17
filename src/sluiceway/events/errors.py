"""The error the event builders raise for a PutEvents entry EventBridge would refuse."""

from __future__ import annotations

__all__ = ["InvalidEntryError"]


class InvalidEntryError(ValueError):
    """A PutEvents entry that EventBridge would refuse.

    A caller's mistake, so a ``ValueError``. It carries what AWS reports, so that
    a caller can report a bad entry as PutEvents does (in the entry's
    ``ErrorCode`` and ``ErrorMessage``) or fail as a task would, and a reason in
    plain words for people. ``str()`` gives all three.

    Attributes:
        code: AWS's error code: ``InvalidArgument`` or ``MalformedDetail`` (the
            entry fails, the others in the request go on), or ``ValidationException``
            or ``SerializationException`` (AWS refuses the whole request).
        message: AWS's error message.
        reason: what is wrong, in plain words.
    """

    def __init__(self, code: str, message: str, reason: str) -> None:
        self.code = code
        self.message = message
        self.reason = reason
        super().__init__(f"{reason}: {code}: {message}")
