"""Cognito's lockout after failed attempts, as data: how many failures, and until when the next is refused.

Cognito documents it for passwords ("Lockout behavior for failed sign-in attempts"): after five
failed sign-ins a user is locked out for one second, and each further failure doubles that, up
to about 15 minutes (2^(n-5) seconds for n failures). Attempts during a lockout are refused
("Password attempts exceeded") without counting; a successful sign-in, or 15 quiet minutes after
a lockout, starts the count again. (Cognito's words, "not initiate any sign-in attempts for 15
consecutive minutes at any time after a lockout", are read strictly: the quarter of an hour is
counted from the lockout's end, else a 15-minute lockout would end with the count forgotten and
five free guesses again.) ConfirmSignUp's codes get the same schedule here: Cognito
answers LimitExceededException after five wrong codes and does not publish how long it waits,
and a doubling wait makes guessing a 6-digit code hopeless within the code's life.

Pure: the caller passes the time (epoch seconds) in and keeps the :class:`Attempts` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FREE_FAILURES", "MAX_LOCK_S", "QUIET_RESET_S", "Attempts"]

FREE_FAILURES = 5
"""Failures allowed before the first lockout."""
MAX_LOCK_S = 15 * 60
"""The longest lockout ("approximately 15 minutes"): 2^10 s would be 17 minutes."""
QUIET_RESET_S = 15 * 60
"""A count left this long after its last failure and its lockout starts again from zero."""


@dataclass(frozen=True)
class Attempts:
    """Failed attempts at one action of one user."""

    failures: int = 0
    """Failures counted (those refused during a lockout are not)."""
    last_failure_at: float = 0.0
    """When the last counted failure was (epoch seconds)."""
    locked_until: float = 0.0
    """Attempts before this (epoch seconds) are refused unheard."""

    def current(self, now: float) -> Attempts:
        """These attempts as they stand at ``now``: forgotten a quiet quarter of an hour after the last
        failure and its lockout."""
        if self.failures and now - max(self.last_failure_at, self.locked_until) >= QUIET_RESET_S:
            return Attempts()
        return self

    def locked(self, now: float) -> bool:
        """Whether an attempt at ``now`` is refused without being heard."""
        return now < self.locked_until

    def failed(self, now: float) -> Attempts:
        """The attempts after one more failure at ``now`` (the caller checked :meth:`locked` first)."""
        failures = self.current(now).failures + 1
        lock = min(2.0 ** (failures - FREE_FAILURES), MAX_LOCK_S) if failures >= FREE_FAILURES else 0.0
        return Attempts(failures, now, now + lock if lock else 0.0)
