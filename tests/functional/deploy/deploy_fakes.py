"""Fakes for the deploy tests: pip, and pipeline runs recorded with stand-in functions.

Runs go through the real workflow and orchestrator into a local store; the stand-in
functions advance the fake clock by a known time, so the durations in the
recorded history (and so the billed milliseconds) are exact.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.clock import FakeClock
from sluiceway.events.envelope import object_created
from sluiceway.runtime.wiring import build_sfn_runtime, load_workflow, open_local_read
from sluiceway.settings import Settings

#: Milliseconds each stand-in takes: per call, plus per MiB of the file for those that read it.
FIXED_MS = {
    "ValidateData": 20,
    "ProcessChunk": 10,
    "AggregateData": 30,
    "StoreResults": 40,
    "ErrorHandler": 15,
}
PER_MIB_MS = {"ValidateData": 8, "ProcessChunk": 100}
CHUNK = 1 * 2**20


@dataclass(frozen=True)
class Run:
    key: str
    size: int
    fail: bool = False


def record(settings: Settings, runs: list[Run]) -> list[str]:
    """Run each file through the workflow; return the execution ARNs (all finished)."""
    current: dict[str, Any] = {}

    def answer(command: InvokeTask) -> TaskSucceeded | TaskFailed | None:
        if not command.resource.startswith("arn:aws:lambda:"):
            return None  # sns:publish runs for real, into the local outbox
        function = command.resource.rsplit(":", 1)[-1]
        run: Run = current["run"]
        clock: FakeClock = current["clock"]
        mib = run.size / 2**20
        if function == "ProcessChunk":
            chunk = command.payload["chunk"]
            mib = (chunk["end"] - chunk["start"]) / 2**20
        clock.advance((FIXED_MS[function] + PER_MIB_MS.get(function, 0) * mib) / 1000)
        if function == "ValidateData":
            if run.fail:
                return TaskFailed(command.token, "DataError", "the header does not match the schema")
            chunks = [{"start": s, "end": min(run.size, s + CHUNK)} for s in range(0, run.size, CHUNK)]
            file = {"bucket": settings.input_bucket, "key": run.key}
            return TaskSucceeded(
                command.token,
                {"file": file, "chunks": chunks, "max_concurrency": 1, "duration_ms": 1},
            )
        if function == "ProcessChunk":
            return TaskSucceeded(command.token, {"partial": "ok"})
        if function == "AggregateData":
            return TaskSucceeded(command.token, {"rows_read": 10, "rows_valid": 9, "rows_rejected": 1})
        if function == "StoreResults":
            return TaskSucceeded(command.token, {"output": f"s3://{settings.output_bucket}/results/{run.key}"})
        return TaskSucceeded(command.token, {"message": f"{run.key} failed"})

    runtime = build_sfn_runtime(settings, skip_waits=True, answer=answer)
    assert isinstance(runtime.orchestrator.clock, FakeClock)
    current["clock"] = runtime.orchestrator.clock
    arns = []
    try:
        runtime.orchestrator.register(settings.state_machine_name, load_workflow(settings))
        runtime.orchestrator.start()
        for index, run in enumerate(runs):
            current["run"] = run
            event = object_created(
                bucket=settings.input_bucket,
                key=run.key,
                size=run.size,
                etag=f"etag{index}",
                sequencer=f"{index:016X}",
                event_id=f"event-{index}",
                request_id=f"request-{index}",
                time=datetime(2026, 1, 1, tzinfo=UTC),
                region=settings.region,
                account=settings.account_id,
            )
            started = runtime.orchestrator.start_execution(settings.state_machine_name, event, name=f"run-{index}")
            done = runtime.orchestrator.wait(started.arn, timeout=30)
            assert done.status in ("SUCCEEDED", "FAILED"), done
            arns.append(started.arn)
    finally:
        runtime.close()
    reader = open_local_read(settings)
    try:
        for arn in arns:
            reader.table.put({"ExecutionId": arn, "Status": "DONE", "Padding": "x" * 1500})
    finally:
        reader.close()
    return arns


class FakePip:
    """Stands in for pip: records the command and installs one tiny package (or fails as told)."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.returncode = returncode
        self.stderr = stderr
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], env: Mapping[str, str] | None) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        target = Path(command[command.index("--target") + 1])
        if self.returncode == 0:
            (target / "tinydep").mkdir(parents=True)
            (target / "tinydep" / "__init__.py").write_text("VALUE = 1\n")
            (target / "bin").mkdir()
            (target / "bin" / "tinydep").write_text("#!/usr/bin/python\n")
        return subprocess.CompletedProcess(list(command), self.returncode, "", self.stderr)
