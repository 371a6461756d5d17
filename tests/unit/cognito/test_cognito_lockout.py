"""Cognito's lockout after failed attempts: five free, then 2^(n-5) seconds, at most 15 minutes."""

from __future__ import annotations

from sluiceway.cognito.lockout import FREE_FAILURES, MAX_LOCK_S, QUIET_RESET_S, Attempts

T0 = 1_800_000_000.0


def _fail(attempts: Attempts, times: int, now: float) -> Attempts:
    for _ in range(times):
        assert not attempts.locked(now)
        attempts = attempts.failed(now)
    return attempts


def test_five_failures_are_free_then_the_first_lockout_is_one_second() -> None:
    attempts = _fail(Attempts(), FREE_FAILURES - 1, T0)
    assert not attempts.locked(T0) and attempts.failures == 4
    attempts = attempts.failed(T0)
    assert attempts.locked(T0) and attempts.locked(T0 + 0.999) and not attempts.locked(T0 + 1)


def test_each_further_failure_doubles_the_lockout_up_to_fifteen_minutes() -> None:
    attempts, now, locks = _fail(Attempts(), FREE_FAILURES, T0), T0, []
    for _ in range(12):
        locks.append(attempts.locked_until - now)
        now = attempts.locked_until
        attempts = attempts.failed(now)
    assert locks == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, MAX_LOCK_S, MAX_LOCK_S]


def test_a_quiet_quarter_of_an_hour_forgets_the_failures() -> None:
    attempts = _fail(Attempts(), 4, T0)
    assert attempts.current(T0 + QUIET_RESET_S - 1) == attempts
    assert attempts.current(T0 + QUIET_RESET_S) == Attempts()
    assert not attempts.failed(T0 + QUIET_RESET_S).locked(T0 + QUIET_RESET_S)  # the fifth came too late: it is the first


def test_the_quiet_quarter_of_an_hour_counts_from_the_end_of_a_lockout() -> None:
    # Counted from the last failure, a 15-minute lockout would end with five free guesses again.
    attempts = Attempts(failures=20, last_failure_at=T0, locked_until=T0 + MAX_LOCK_S)
    assert attempts.current(T0 + MAX_LOCK_S) == attempts and not attempts.locked(T0 + MAX_LOCK_S)
    assert attempts.failed(T0 + MAX_LOCK_S).locked_until == T0 + 2 * MAX_LOCK_S
    assert attempts.current(T0 + MAX_LOCK_S + QUIET_RESET_S) == Attempts()
