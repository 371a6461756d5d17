"""The local Lambda runtime end to end: real worker processes running real handlers."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sluiceway.ports import FunctionInvoker, Invocation, InvocationResult
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker, invoke_api_error

# The handlers' module name depends on how pytest imported this file (rootdir or package).
HANDLERS = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "sample_handlers"
BROKEN = HANDLERS.replace("sample_handlers", "broken_handlers")
ARN = "arn:aws:lambda:us-east-1:111111111111:function"


def spec(name: str, function: str, **kwargs: float) -> FunctionSpec:
    return FunctionSpec(name, f"{HANDLERS}.{function}", **kwargs)  # type: ignore[arg-type]


FUNCTIONS = [
    spec("Echo", "echo", memory_mb=256),
    spec("Count", "count"),
    spec("Fail", "fail"),
    spec("Refuse", "refuse"),
    spec("AwsError", "aws_error"),
    spec("Sleep", "sleep", timeout_s=0.5),
    spec("Countdown", "countdown", timeout_s=2.0),
    spec("Exit", "exit_now"),
    spec("SysExit", "sys_exit"),
    spec("Segfault", "segfault"),
    spec("Spin", "spin"),
    spec("Meet", "meet", timeout_s=15.0),
    spec("Talk", "talk"),
    spec("Environment", "environment"),
    spec("NotJson", "not_json"),
    spec("Decimals", "decimals"),
    spec("Huge", "huge"),
    spec("Noop", "noop"),
    spec("Hold", "hold", timeout_s=60.0),
    FunctionSpec("NoModule", "no_such_module_anywhere.handler"),
    FunctionSpec("NoHandler", f"{HANDLERS}.no_such_handler"),
    FunctionSpec("Broken", f"{BROKEN}.handler"),
]


def call(invoker: FunctionInvoker, name: str, payload: object = None, **kwargs: float) -> InvocationResult:
    return invoker.invoke(Invocation(name, payload, str(uuid.uuid4()), **kwargs))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalFunctionInvoker]:
    """Two workers shared by the tests that leave them healthy."""
    with LocalFunctionInvoker(FUNCTIONS, workers=2) as invoker:
        yield invoker


@pytest.fixture
def single() -> Iterator[LocalFunctionInvoker]:
    """One worker of its own, for tests that kill it."""
    with LocalFunctionInvoker(FUNCTIONS, workers=1) as invoker:
        yield invoker


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ------------------------------------------------------------------ success


def test_a_handler_gets_the_event_and_a_lambda_context(pool: LocalFunctionInvoker) -> None:
    request_id = str(uuid.uuid4())

    result = pool.invoke(Invocation("Echo", {"bucket": "in", "n": [1, 2.5, None]}, request_id))

    assert result.ok and result.request_id == request_id
    seen = result.payload
    assert seen["event"] == {"bucket": "in", "n": [1, 2.5, None]}
    assert seen["pid"] != os.getpid()
    assert seen["aws_request_id"] == request_id
    assert seen["function_name"] == "Echo"
    assert seen["function_version"] == "$LATEST"
    assert seen["invoked_function_arn"] == f"{ARN}:Echo"
    assert seen["memory_limit_in_mb"] == "256"
    assert seen["log_group_name"] == "/aws/lambda/Echo"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", seen["log_stream_name"])
    assert 0 < seen["remaining_ms"] <= 60_000
    assert seen["identity_id"] is None and seen["client_context"] is None
    assert result.duration_ms > 0


def test_the_invoked_arn_keeps_the_callers_qualifier(pool: LocalFunctionInvoker) -> None:
    result = call(pool, f"{ARN}:Echo:live")

    assert result.payload["invoked_function_arn"] == f"{ARN}:Echo:live"
    assert result.payload["function_name"] == "Echo"


def test_a_handler_module_is_imported_once_per_worker(single: LocalFunctionInvoker) -> None:
    assert [call(single, "Count").payload for _ in range(3)] == [1, 2, 3]


def test_decimals_are_returned_as_json_numbers(pool: LocalFunctionInvoker) -> None:
    assert call(pool, "Decimals").payload == {"price": 1.1, "count": 5}


def test_a_successful_call_is_logged_at_debug(pool: LocalFunctionInvoker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sluiceway.runtime.lambdas.invoker")

    result = call(pool, "Noop", {"x": 1})

    (record,) = [r for r in caplog.records if r.getMessage() == "function invoked"]
    assert record.levelno == logging.DEBUG
    assert (record.function, record.request_id) == ("Noop", result.request_id)  # type: ignore[attr-defined]
    assert record.duration_ms >= 0  # type: ignore[attr-defined]


# ----------------------------------------------------------------- failures


def test_an_exception_becomes_lambdas_error_shape(pool: LocalFunctionInvoker, caplog: pytest.LogCaptureFixture) -> None:
    result = call(pool, "Fail", {"why": "no rows"})

    assert not result.ok and result.payload is None
    assert result.error_type == "ValueError"
    assert result.error_message == "bad input: no rows"
    (record,) = [r for r in caplog.records if r.getMessage() == "function failed"]
    assert record.levelno == logging.WARNING
    trace = "".join(record.stack_trace)  # type: ignore[attr-defined]
    assert "sample_handlers.py" in trace and "raise ValueError" in trace
    assert "workers.py" not in trace  # the runtime's own frames are dropped, as on Lambda


def test_a_handler_error_reports_its_error_type(pool: LocalFunctionInvoker) -> None:
    result = call(pool, "Refuse")

    assert (result.error_type, result.error_message) == (
        "DataValidationError",
        "the file has no header",
    )


def test_a_handler_error_named_as_an_invoke_error_is_the_functions_not_a_refusal(pool: LocalFunctionInvoker) -> None:
    # An uncaught botocore error of the function's own AWS call bears an Invoke error's name; it is still
    # the function's error (a FunctionError), and only Invoke's own refusals are marked refused.
    result = call(pool, "AwsError")
    assert result.error_type == "InvalidParameterValueException" and not result.refused
    assert invoke_api_error(result) is None
    missing = call(pool, "NoSuchFunction")
    assert missing.error_type == "ResourceNotFoundException" and missing.refused
    assert invoke_api_error(missing) == (
        "ResourceNotFoundException",
        f"Function not found: {ARN}:NoSuchFunction",
        404,
        {"Type": "User"},
    )


def test_a_version_number_in_the_name_is_the_version_the_handler_runs(pool: LocalFunctionInvoker) -> None:
    assert call(pool, "Echo:7").payload["function_version"] == "7"
    assert call(pool, "Echo:live").payload["function_version"] == "$LATEST"  # an alias: the caller decides
    assert pool.invoke(Invocation("Echo:live", None, str(uuid.uuid4())), version="3").payload["function_version"] == "3"
    assert call(pool, "Echo").payload["function_version"] == "$LATEST"


def test_a_result_json_cannot_carry_is_a_marshal_error(pool: LocalFunctionInvoker) -> None:
    result = call(pool, "NotJson")

    assert result.error_type == "Runtime.MarshalError"
    assert result.error_message == "Unable to marshal response: Object of type set is not JSON serializable"


def test_a_result_over_six_megabytes_is_refused(pool: LocalFunctionInvoker) -> None:
    result = call(pool, "Huge")

    assert result.error_type == "Function.ResponseSizeTooLarge"
    assert "6291556 bytes" in str(result.error_message)


def test_a_payload_over_six_megabytes_is_refused(pool: LocalFunctionInvoker) -> None:
    result = call(pool, "Noop", "x" * 6_291_456)

    assert result.error_type == "RequestEntityTooLargeException"


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        (
            "NoModule",
            "Runtime.ImportModuleError",
            "Unable to import module 'no_such_module_anywhere': No module",
        ),
        ("NoHandler", "Runtime.HandlerNotFound", "Handler 'no_such_handler' missing on module"),
        ("Broken", "RuntimeError", "cannot start: no settings"),
    ],
)
def test_a_handler_that_cannot_be_loaded_fails_like_lambdas_init(
    pool: LocalFunctionInvoker, function: str, error_type: str, message: str
) -> None:
    result = call(pool, function)

    assert result.error_type == error_type
    assert str(result.error_message).startswith(message)
    assert call(pool, "Noop", 1).payload == 1  # the worker survives


# ------------------------------------------------------ timeouts and crashes


def test_a_call_past_its_timeout_is_killed_and_the_worker_replaced(
    single: LocalFunctionInvoker,
) -> None:
    before = call(single, "Echo").payload["pid"]
    started = time.monotonic()

    result = call(single, "Sleep", {"seconds": 30})

    assert time.monotonic() - started < 10
    assert result.error_type == "Sandbox.Timedout"
    assert result.error_message == f"RequestId: {result.request_id} Error: Task timed out after 0.50 seconds"
    assert result.duration_ms >= 500
    assert not is_running(before)
    after = call(single, "Echo")
    assert after.ok and after.payload["pid"] != before


def test_an_invocation_may_shorten_the_functions_timeout(single: LocalFunctionInvoker) -> None:
    result = call(single, "Countdown", {"seconds": 30}, timeout_s=0.3)  # the function allows 2 s

    assert result.error_type == "Sandbox.Timedout"
    assert str(result.error_message).endswith("Task timed out after 0.30 seconds")


@pytest.mark.parametrize(
    ("function", "payload", "how"),
    [
        ("Exit", {"code": 3}, "Runtime exited with error: exit status 3"),
        ("SysExit", {"code": 4}, "Runtime exited with error: exit status 4"),
        ("SysExit", {"code": 0}, "Runtime exited without providing a reason"),
        ("Segfault", None, "Runtime exited with error: signal: segmentation fault"),
    ],
)
def test_a_worker_that_dies_gives_an_exit_error_and_is_replaced(
    single: LocalFunctionInvoker, function: str, payload: object, how: str
) -> None:
    before = call(single, "Echo").payload["pid"]

    result = call(single, function, payload)

    assert result.error_type == "Runtime.ExitError"
    assert result.error_message == f"RequestId: {result.request_id} Error: {how}"
    assert not is_running(before)
    after = call(single, "Echo")
    assert after.ok and after.payload["pid"] != before


def test_a_crash_does_not_disturb_a_call_in_flight(pool: LocalFunctionInvoker, tmp_path: Path) -> None:
    survivor = {"dir": str(tmp_path), "me": "a", "other": "b", "then": "sleep", "seconds": 0.2}
    crasher = {"dir": str(tmp_path), "me": "b", "other": "a", "then": "exit"}
    with ThreadPoolExecutor(2) as threads:
        alive = threads.submit(call, pool, "Meet", survivor)
        dead = threads.submit(call, pool, "Meet", crasher)

        assert dead.result().error_type == "Runtime.ExitError"
        assert alive.result().payload["met"] is True


# --------------------------------------------------------------- concurrency


def meet(invoker: LocalFunctionInvoker, folder: Path) -> list[dict[str, object]]:
    """Two calls that each wait until the other is running."""
    with ThreadPoolExecutor(2) as threads:
        first = threads.submit(call, invoker, "Meet", {"dir": str(folder), "me": "a", "other": "b"})
        second = threads.submit(call, invoker, "Meet", {"dir": str(folder), "me": "b", "other": "a"})
        return [first.result().payload, second.result().payload]


def test_two_workers_run_two_calls_at_once(pool: LocalFunctionInvoker, tmp_path: Path) -> None:
    results = meet(pool, tmp_path)

    # Each call waited until the other was running: they ran at the same time, in two processes.
    assert [r["met"] for r in results] == [True, True]
    assert results[0]["pid"] != results[1]["pid"]


def test_cpu_bound_calls_overlap_in_time(pool: LocalFunctionInvoker, tmp_path: Path) -> None:
    meet(pool, tmp_path)  # both workers warm: the comparison is between two running handlers
    with ThreadPoolExecutor(2) as threads:
        runs = [r.payload for r in threads.map(lambda _: call(pool, "Spin", {"seconds": 0.3}), range(2))]

    assert runs[0]["pid"] != runs[1]["pid"]
    assert max(r["start"] for r in runs) < min(r["end"] for r in runs)


def test_the_remaining_time_counts_down_from_the_timeout(pool: LocalFunctionInvoker) -> None:
    before, after = call(pool, "Countdown", {"seconds": 0.1}).payload

    assert 1_000 < before <= 2_000
    assert before - after >= 90


# ----------------------------------------------------------- the environment


def test_env_is_set_before_handler_modules_are_imported() -> None:
    functions = [spec("Environment", "environment")]
    with LocalFunctionInvoker(functions, workers=1, env={"SLUICEWAY_TEST_MARKER": "blue"}) as invoker:
        seen = call(invoker, "Environment", {"name": "SLUICEWAY_TEST_MARKER"}).payload

    assert seen == {"now": "blue", "at_import": "blue"}
    assert "SLUICEWAY_TEST_MARKER" not in os.environ


def test_handler_prints_go_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with LocalFunctionInvoker([spec("Talk", "talk")], workers=1) as invoker:
        assert call(invoker, "Talk", {"say": "rows: 42"}).ok
        captured = capfd.readouterr()

    assert "rows: 42" in captured.err
    assert "rows: 42" not in captured.out


# ------------------------------------------------------------- names and ARNs


def test_an_unknown_function_is_not_found(pool: LocalFunctionInvoker) -> None:
    result = call(pool, "Nope")

    assert result.error_type == "ResourceNotFoundException"
    assert result.error_message == f"Function not found: {ARN}:Nope"
    assert not pool.knows("Nope")


def test_a_malformed_function_name_is_a_validation_error(pool: LocalFunctionInvoker) -> None:
    assert call(pool, "not a name!").error_type == "ValidationException"


@pytest.mark.parametrize(
    ("resource", "name"),
    [
        ("Echo", "Echo"),
        ("Echo:$LATEST", "Echo"),
        ("Echo:live", "Echo"),
        ("111111111111:function:Echo", "Echo"),
        (f"{ARN}:Echo", "Echo"),
        (f"{ARN}:Echo:7", "Echo"),
        ("arn:aws:lambda:eu-west-1:111111111111:function:Echo", None),
        ("arn:aws:lambda:us-east-1:222222222222:function:Echo", None),
        (f"{ARN}:Nope", None),
        ("arn:aws:states:us-east-1:111111111111:stateMachine:Echo", None),
        ("", None),
    ],
)
def test_resolve_accepts_what_lambda_invoke_accepts(pool: LocalFunctionInvoker, resource: str, name: str | None) -> None:
    assert pool.resolve(resource) == name
    assert pool.knows(resource) is (name is not None)


def test_function_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        LocalFunctionInvoker([spec("Echo", "echo"), spec("Echo", "noop")])
    with pytest.raises(ValueError, match="invalid function name"):
        FunctionSpec("bad name", "m.f")
    with pytest.raises(ValueError, match="invalid handler"):
        FunctionSpec("Good", "handler")


# ------------------------------------------------------------------- closing


def test_close_stops_the_workers_and_is_idempotent() -> None:
    invoker = LocalFunctionInvoker(FUNCTIONS, workers=2)
    pid = call(invoker, "Echo").payload["pid"]
    assert invoker.worker_pids() == [pid]  # workers start on demand

    invoker.close()
    invoker.close()

    assert not is_running(pid)
    with pytest.raises(RuntimeError, match="closed"):
        call(invoker, "Echo")


def test_close_kills_a_call_in_flight(tmp_path: Path) -> None:
    invoker = LocalFunctionInvoker(FUNCTIONS, workers=2)
    long_call = {"dir": str(tmp_path), "me": "a", "other": "b", "then": "sleep", "seconds": 30}
    with ThreadPoolExecutor(1) as threads:
        in_flight = threads.submit(call, invoker, "Meet", long_call)
        assert call(invoker, "Meet", {"dir": str(tmp_path), "me": "b", "other": "a"}).ok  # it is running

        invoker.close()

        result = in_flight.result(timeout=10)
    assert result.error_type == "Runtime.ExitError"
    assert str(result.error_message).endswith("signal: killed")
    assert invoker.worker_pids() == []


# --------------------------------------------------------------- thread mode


@pytest.fixture
def threads() -> Iterator[LocalFunctionInvoker]:
    with LocalFunctionInvoker(FUNCTIONS, workers=2, mode="thread") as invoker:
        yield invoker


def test_thread_mode_keeps_the_contract(threads: LocalFunctionInvoker) -> None:
    echo = call(threads, "Echo", {"a": 1})
    assert echo.ok and echo.payload["event"] == {"a": 1} and echo.payload["pid"] == os.getpid()
    assert echo.payload["memory_limit_in_mb"] == "256"
    assert (call(threads, "Fail", {"why": "x"}).error_type, call(threads, "Refuse").error_type) == (
        "ValueError",
        "DataValidationError",
    )
    assert call(threads, "NotJson").error_type == "Runtime.MarshalError"
    assert call(threads, "NoModule").error_type == "Runtime.ImportModuleError"
    assert call(threads, "SysExit", {"code": 2}).error_type == "Runtime.ExitError"
    assert call(threads, "Nope").error_type == "ResourceNotFoundException"
    assert threads.worker_pids() == []


def test_thread_mode_reports_a_timeout_it_cannot_enforce(threads: LocalFunctionInvoker) -> None:
    result = call(threads, "Sleep", {"seconds": 0.6}, timeout_s=0.2)

    assert result.error_type == "Sandbox.Timedout"
    assert str(result.error_message).endswith("Task timed out after 0.20 seconds")
    assert call(threads, "Noop", 5).payload == 5  # the other thread is free


def test_thread_mode_sets_env_until_closed() -> None:
    invoker = LocalFunctionInvoker([spec("Environment", "environment")], mode="thread", env={"SLUICEWAY_THREAD_MARKER": "red"})
    assert call(invoker, "Environment", {"name": "SLUICEWAY_THREAD_MARKER"}).payload["now"] == "red"

    invoker.close()
    invoker.close()

    assert "SLUICEWAY_THREAD_MARKER" not in os.environ
    with pytest.raises(RuntimeError, match="closed"):
        call(invoker, "Environment", {"name": "X"})


def test_a_stop_signal_to_the_process_group_does_not_kill_a_call_in_flight(single: LocalFunctionInvoker, tmp_path: Path) -> None:
    # Ctrl-C (SIGINT) and a service manager's SIGTERM reach every process of the group; the
    # parent stops its workers itself, so a stop never turns a call into a crash.
    event = {"pid_file": str(tmp_path / "pid"), "release": str(tmp_path / "release")}
    with ThreadPoolExecutor(1) as threads:
        pending = threads.submit(call, single, "Hold", event)
        deadline = time.monotonic() + 30
        while not (tmp_path / "pid").exists():
            assert time.monotonic() < deadline and not pending.done(), "the call never started"
            time.sleep(0.01)
        worker = int((tmp_path / "pid").read_text())
        os.kill(worker, signal.SIGTERM)
        os.kill(worker, signal.SIGINT)
        (tmp_path / "release").touch()
        result = pending.result(timeout=30)
    assert result.ok and result.payload == worker
