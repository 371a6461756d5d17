"""Functions with code of their own (a SAM CodeUri or InlineCode) in real worker processes, as Lambda runs them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sluiceway.ports import Invocation, InvocationResult
from sluiceway.runtime.lambdas.code import FunctionCode, prepare_function_code
from sluiceway.runtime.lambdas.invoker import THROTTLE_REASON, FunctionSpec, LocalFunctionInvoker, invoke_api_error
from sluiceway.types import JSON

APP = '''\
import os, sys
print("importing {who}")
WHO = "{who}"
calls = 0

def handler(event, context):
    global calls
    calls += 1
    print("handling", event)
    return {{"who": WHO, "calls": calls, "file": __file__, "cwd": os.getcwd(), "path": sys.path[:2], "pid": os.getpid()}}
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def prepare(name: str, root: Path, cache: Path) -> FunctionCode:
    return prepare_function_code(name, code_uri=root, cache_dir=cache)


def call(invoker: LocalFunctionInvoker, name: str, payload: JSON = None) -> InvocationResult:
    return invoker.invoke(Invocation(name, payload, str(uuid.uuid4())))


def ok(result: InvocationResult) -> Any:
    assert result.ok, f"{result.error_type}: {result.error_message}"
    return result.payload


class Logs:
    """CloudWatch Logs as the invoker sees it: what was put where."""

    def __init__(self) -> None:
        self.groups: dict[str, list[str]] = {}

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        self.groups.setdefault(group, []).extend(message for _, message in events)


@pytest.fixture
def two_apps(tmp_path: Path) -> tuple[FunctionSpec, FunctionSpec]:
    a = write(tmp_path / "a", {"app.py": APP.format(who="A")})
    b = write(tmp_path / "b", {"app.py": APP.format(who="B")})
    cache = tmp_path / "cache"
    return (
        FunctionSpec("AppA", "app.handler", code=prepare("AppA", a, cache)),
        FunctionSpec("AppB", "app.handler", code=prepare("AppB", b, cache)),
    )


# ------------------------------------------------------------------ execution environments


def test_two_functions_with_the_same_module_name_do_not_see_each_other(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    a, b = two_apps
    assert a.code is not None and b.code is not None
    with LocalFunctionInvoker([a, b], workers=2) as invoker:
        first_a, first_b, second_a, second_b = (ok(call(invoker, name)) for name in ("AppA", "AppB", "AppA", "AppB"))
    assert (first_a["who"], first_b["who"]) == ("A", "B")
    assert first_a["file"] == str(a.code.root / "app.py") and first_b["file"] == str(b.code.root / "app.py")
    assert first_a["pid"] != first_b["pid"]
    # Module-level state lives on across warm invocations, per function.
    assert (second_a["calls"], second_b["calls"]) == (2, 2)
    assert second_a["pid"] == first_a["pid"]


def test_the_code_root_is_first_on_sys_path_and_the_working_directory(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    a, _ = two_apps
    assert a.code is not None
    with LocalFunctionInvoker([a], workers=1) as invoker:
        seen = ok(call(invoker, "AppA"))
    assert seen["path"][0] == str(a.code.root) and seen["cwd"] == str(a.code.root)


def test_a_full_pool_retires_an_idle_worker_of_another_function(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    with LocalFunctionInvoker(two_apps, workers=1) as invoker:
        first = ok(call(invoker, "AppA"))
        assert ok(call(invoker, "AppB"))["who"] == "B"
        again = ok(call(invoker, "AppA"))
    assert again["who"] == "A" and again["calls"] == 1  # a cold start: a new environment
    assert again["pid"] != first["pid"]


def test_packaged_functions_and_own_code_share_the_pool(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    a, _ = two_apps
    # Any function importable from the runtime's own paths is "packaged": (event, context) -> True.
    packaged = FunctionSpec("Packaged", "operator.is_not")
    with LocalFunctionInvoker([a, packaged], workers=1) as invoker:
        assert ok(call(invoker, "AppA"))["who"] == "A"
        assert ok(call(invoker, "Packaged", [1])) is True
        assert ok(call(invoker, "AppA"))["calls"] == 1  # its environment was retired for the packaged one


def test_an_edited_handler_takes_effect_on_the_next_invocation(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"app.py": "import helper\ndef handler(e, c):\n    return helper.VALUE\n", "helper.py": "VALUE = 1\n"})
    spec = FunctionSpec("Edited", "app.handler", code=prepare("Edited", src, tmp_path / "cache"))
    with LocalFunctionInvoker([spec], workers=1) as invoker:
        assert ok(call(invoker, "Edited")) == 1
        (src / "helper.py").write_text("VALUE = 22\n")  # a module the handler imports
        assert ok(call(invoker, "Edited")) == 22
        (src / "app.py").write_text("def handler(e, c):\n    return 'rewritten'\n")
        assert ok(call(invoker, "Edited")) == "rewritten"
        assert ok(call(invoker, "Edited")) == "rewritten"


def test_a_zip_code_uri_runs(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "index.zip", "w") as archive:
        handler = "import os\ndef lambda_handler(e, c):\n    return {'zipped': e, 'root': os.environ['LAMBDA_TASK_ROOT']}\n"
        archive.writestr("index.py", handler)
        archive.writestr("__MACOSX/._index.py", "junk")
    code = prepare_function_code("Zipped", code_uri="index.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    with LocalFunctionInvoker([FunctionSpec("Zipped", "index.lambda_handler", code=code)], workers=1) as invoker:
        assert ok(call(invoker, "Zipped", 7)) == {"zipped": 7, "root": str(code.root)}


def test_inline_code_runs_as_index_with_cfnresponse_at_hand(tmp_path: Path) -> None:
    source = "import cfnresponse\n\ndef handler(event, context):\n    return [cfnresponse.SUCCESS, cfnresponse.FAILED, __name__]\n"
    code = prepare_function_code("Inline", inline_code=source, cache_dir=tmp_path)
    with LocalFunctionInvoker([FunctionSpec("Inline", "index.handler", code=code)], workers=1) as invoker:
        assert ok(call(invoker, "Inline")) == ["SUCCESS", "FAILED", "index"]


def test_installed_requirements_come_after_the_code_on_sys_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # never the network
    src = write(tmp_path / "src", {"app.py": "import sys, tinydep\ndef handler(e, c):\n    return [tinydep.VALUE, sys.path[:2]]\n"})
    wheel(src)
    (src / "requirements.txt").write_text("./tinydep-1.0-py3-none-any.whl\n")
    code = prepare("Deps", src, tmp_path / "cache")
    assert code.dependencies is not None
    with LocalFunctionInvoker([FunctionSpec("Deps", "app.handler", code=code)], workers=1) as invoker:
        assert ok(call(invoker, "Deps")) == [42, [str(code.root), str(code.dependencies)]]


def wheel(where: Path) -> Path:
    dist = "tinydep-1.0.dist-info"
    files = {
        "tinydep/__init__.py": "VALUE = 42\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: sluiceway-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text)}"
        for path, text in files.items()
    ]
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    path = where / "tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


# ------------------------------------------------------------------ Lambda's environment


ENV_HANDLER = """\
import os, time
NAMES = [
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "TABLE_NAME", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
]
def handler(event, context):
    env = {name: os.environ.get(name) for name in NAMES}
    env["utc_offset"] = time.strftime("%z", time.localtime(0))
    env["stream"] = context.log_stream_name
    return env
"""


def test_a_handler_sees_lambdas_environment(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"env.py": ENV_HANDLER})
    spec = FunctionSpec(
        "Env",
        "env.handler",
        memory_mb=256,
        environment={"TABLE_NAME": "orders"},
        code=prepare("Env", src, tmp_path / "cache"),
        runtime="python3.14",
    )
    with LocalFunctionInvoker([spec], workers=1, region="eu-west-1") as invoker:
        invoker.use_endpoint("http://127.0.0.1:4599")
        env = ok(call(invoker, "Env"))
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env.pop("AWS_LAMBDA_LOG_STREAM_NAME") == env.pop("stream")
    runtime_dir = env.pop("LAMBDA_RUNTIME_DIR")
    assert (Path(runtime_dir) / "sluiceway").is_dir()
    assert env == {
        "AWS_LAMBDA_FUNCTION_NAME": "Env",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/Env",
        "_HANDLER": "env.handler",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "LAMBDA_TASK_ROOT": str(src.resolve()),
        "TZ": ":UTC",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TABLE_NAME": "orders",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4599",
        "AWS_ACCESS_KEY_ID": "test",
        "utc_offset": "+0000",
    }


def test_prints_at_import_and_during_the_call_land_in_the_log_group(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    logs = Logs()
    with LocalFunctionInvoker(two_apps, workers=1, logs=logs) as invoker:
        ok(call(invoker, "AppA", {"n": 1}))
        ok(call(invoker, "AppA", {"n": 2}))
    lines = logs.groups["/aws/lambda/AppA"]
    assert lines.count("importing A\n") == 1  # once: at the cold start
    assert "handling {'n': 1}\n" in lines and "handling {'n': 2}\n" in lines
    assert lines.index("importing A\n") < lines.index("handling {'n': 1}\n")
    assert "/aws/lambda/AppB" not in logs.groups


# ------------------------------------------------------------------ refusals


def test_reserved_concurrency_zero_throttles_every_invocation(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    a, _ = two_apps
    throttled = FunctionSpec(a.name, a.handler, code=a.code, reserved_concurrency=0)
    with LocalFunctionInvoker([throttled], workers=1) as invoker:
        result = call(invoker, "AppA")
        assert invoker.worker_pids() == []  # refused before any worker was needed
    assert (result.error_type, result.error_message) == ("TooManyRequestsException", "Rate Exceeded.")
    assert invoke_api_error(result) == ("TooManyRequestsException", "Rate Exceeded.", 429, {"Type": "User", "Reason": THROTTLE_REASON})


def test_reserved_concurrency_caps_invocations_in_flight(tmp_path: Path) -> None:
    gate = tmp_path / "open"
    hold = f"""\
import os, time
def handler(event, context):
    deadline = time.monotonic() + 20
    while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:
        time.sleep(0.005)
    return "done"
"""
    src = write(tmp_path / "src", {"hold.py": hold})
    spec = FunctionSpec("Hold", "hold.handler", code=prepare("Hold", src, tmp_path / "cache"), reserved_concurrency=1)
    with LocalFunctionInvoker([spec], workers=2) as invoker:
        results: list[InvocationResult] = []
        first = threading.Thread(target=lambda: results.append(call(invoker, "Hold")))
        first.start()
        deadline = time.monotonic() + 20
        while not invoker.worker_pids() and time.monotonic() < deadline:  # the first call is in flight
            time.sleep(0.005)
        second = call(invoker, "Hold")
        gate.touch()
        first.join(20)
        third = call(invoker, "Hold")
    assert second.error_type == "TooManyRequestsException"
    assert [r.payload for r in results] == ["done"] and ok(third) == "done"


def test_a_runtime_that_is_not_python_cannot_start(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    a, _ = two_apps
    node = FunctionSpec("Node", "app.handler", code=a.code, runtime="nodejs20.x")
    with LocalFunctionInvoker([node], workers=1) as invoker:
        result = call(invoker, "Node")
    assert result.error_type == "InvalidRuntimeException"
    assert result.error_message is not None and result.error_message.startswith("The runtime or runtime version specified is not supported")
    refused = invoke_api_error(result)
    assert refused is not None and refused[2] == 502


def test_thread_mode_refuses_a_function_with_code_of_its_own(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    with pytest.raises(ValueError, match="AppA has code of its own .* process mode only"):
        LocalFunctionInvoker(two_apps, mode="thread")


def test_a_function_error_is_not_an_invoke_api_error(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"app.py": "def handler(e, c):\n    raise KeyError('missing')\n"})
    with LocalFunctionInvoker([FunctionSpec("Fails", "app.handler", code=prepare("Fails", src, tmp_path))], workers=1) as invoker:
        result = call(invoker, "Fails")
    assert result.error_type == "KeyError" and invoke_api_error(result) is None


# ------------------------------------------------------------------ register / unregister


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_unregister_retires_the_functions_workers(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    with LocalFunctionInvoker(two_apps, workers=2) as invoker:
        pid = ok(call(invoker, "AppA"))["pid"]
        invoker.unregister("AppA")
        assert not invoker.knows("AppA") and not is_running(pid)
        assert call(invoker, "AppA").error_type == "ResourceNotFoundException"
        assert ok(call(invoker, "AppB"))["who"] == "B"
        invoker.unregister("AppA")  # unknown: nothing to do


def test_registering_new_code_for_a_function_retires_its_workers(two_apps: tuple[FunctionSpec, FunctionSpec]) -> None:
    a, b = two_apps
    with LocalFunctionInvoker([a], workers=1) as invoker:
        assert ok(call(invoker, "AppA"))["who"] == "A"
        invoker.register(FunctionSpec("AppA", "app.handler", code=b.code))
        assert ok(call(invoker, "AppA"))["who"] == "B"



def test_cfnresponse_puts_the_custom_resource_response_to_its_url(tmp_path: Path) -> None:
    received: list[tuple[str, dict[str, str], bytes]] = []

    class ResponseUrl(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ResponseUrl)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = (
        "import cfnresponse\n\n"
        "def handler(event, context):\n"
        "    cfnresponse.send(event, context, cfnresponse.SUCCESS, {'Answer': 42}, 'phys-1')\n"
    )
    code = prepare_function_code("Custom", inline_code=source, cache_dir=tmp_path)
    event = {
        "RequestType": "Create",
        "ResponseURL": f"http://127.0.0.1:{server.server_port}/response?sig=1",
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Thing",
        "ResourceType": "Custom::Thing",
    }
    try:
        with LocalFunctionInvoker([FunctionSpec("Custom", "index.handler", code=code)], workers=1) as invoker:
            assert call(invoker, "Custom", event).ok
    finally:
        server.shutdown()
        server.server_close()
    [(path, headers, body)] = received
    assert path == "/response?sig=1" and headers["Content-Type"] == ""
    assert json.loads(body) == {
        "Status": "SUCCESS",
        "Reason": json.loads(body)["Reason"],
        "PhysicalResourceId": "phys-1",
        "StackId": event["StackId"],
        "RequestId": "req-1",
        "LogicalResourceId": "Thing",
        "NoEcho": False,
        "Data": {"Answer": 42},
    }
    assert json.loads(body)["Reason"].startswith("See the details in CloudWatch Log Stream: ")
