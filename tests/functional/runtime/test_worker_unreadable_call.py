"""A worker process given a call it cannot read answers Lambda's ServiceException and serves the next call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from multiprocessing import Pipe
from pathlib import Path

from sluiceway.ports.functions import Call
from sluiceway.runtime.lambdas.worker import BOOT, ERROR, LOADED, LOGS, RESULT

WAIT_S = 30.0


def _answer(conn: object) -> tuple[bytes, bytes]:
    """The worker's logs then its result or error: (tag, body) of the last message."""
    from multiprocessing.connection import Connection

    assert isinstance(conn, Connection)
    while True:
        assert conn.poll(WAIT_S), "the worker did not answer"
        message = conn.recv_bytes()
        tag, body = message[:1], message[1:]
        if tag in (LOADED, LOGS):
            continue
        return tag, body


def test_an_unreadable_call_is_a_service_exception_and_the_worker_lives_on(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("def handler(event, context):\n    return {'got': event}\n")
    parent, child = Pipe(duplex=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", BOOT, json.dumps(sys.path), str(child.fileno()), str(os.getpid()), "stream"],
        pass_fds=(child.fileno(),),
        stdin=subprocess.DEVNULL,
    )
    child.close()
    try:
        # A newer parent's header: one field more than this version knows.
        parent.send_bytes(json.dumps(["r1", "plain", "plain.handler", "arn", 128, 3.0, {}, [], None, None, "new"]).encode() + b"\n{}")
        tag, body = _answer(parent)
        assert tag == ERROR
        error = json.loads(body)
        assert error["errorType"] == "ServiceException"
        # Nested past the parser's recursion limit, then a variable that is no string: refused alike.
        for unreadable in (b"[" * 100_000, json.dumps(["r1", "plain", "plain.handler", "arn", 128, 3.0, {"A": 1}]).encode()):
            parent.send_bytes(unreadable + b"\n{}")
            tag, body = _answer(parent)
            assert (tag, json.loads(body)["errorType"]) == (ERROR, "ServiceException")
        readable = Call("r2", "plain", "plain.handler", "arn", 128, 3.0, b'{"n": 2}', code_paths=(str(tmp_path),))
        parent.send_bytes(readable.encode())
        tag, body = _answer(parent)
        assert (tag, json.loads(body)) == (RESULT, {"got": {"n": 2}})
    finally:
        parent.close()  # the worker's loop ends when its parent hangs up
        try:
            proc.wait(WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
