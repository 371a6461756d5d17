"""``sluiceway sfn``: run, validate and inspect ASL state machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..asl import parser
from ..asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from ..asl.limits import load_json
from ..asl.mocks import MockConfig, TestCaseMocks
from ..errors import DefinitionError, SluicewayError
from ._common import ConfigOption, DataDirOption, console, fail, json_argument, report_error, settings_from

app = typer.Typer(help="Run, validate and inspect Amazon States Language state machines.", no_args_is_help=True)


def _read_definition(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read definition {path}: {exc.strerror}")
    if "${" in text:
        # SAM-style DefinitionSubstitutions: the stack's own function and topic ARNs.
        from ..apps.builtin import pipeline_substitutions

        try:
            text = parser.substitute(text, pipeline_substitutions(settings_from()))
        except DefinitionError as exc:
            fail(f"{path}: {exc}")
    try:
        doc = load_json(text)
    except ValueError as exc:
        fail(f"{path}: the definition is not valid JSON: {exc}")
    if not isinstance(doc, dict):
        fail(f"{path}: the definition must be a JSON object")
    return doc


@app.command()
def validate(definition: Path = typer.Argument(..., help="ASL definition file (JSON)")) -> None:
    """Validate a definition: prints every problem with its JSON location (like ValidateStateMachineDefinition)."""
    doc = _read_definition(definition)
    diagnostics = parser.validate(doc)
    result = {"result": "FAIL" if diagnostics else "OK", "diagnostics": [d.to_json() for d in diagnostics]}
    print(json.dumps(result, indent=2))
    raise typer.Exit(2 if diagnostics else 0)


@app.command()
def run(
    definition: Path = typer.Argument(..., help="ASL definition file (JSON)"),
    input: str = typer.Option("{}", "--input", "-i", help="Execution input: JSON or @file"),
    mock_config: Path | None = typer.Option(None, "--mock-config", help="Step Functions Local MockConfigFile"),
    test_case: str | None = typer.Option(None, "--test-case", help="Test case in the mock config"),
    state_machine: str | None = typer.Option(None, "--state-machine", help="State machine name [default: file name]"),
    name: str | None = typer.Option(None, "--name", help="Execution name (idempotent: same name and input, same execution)"),
    skip_waits: bool = typer.Option(False, "--skip-waits", help="Fast-forward Wait states, retry intervals and timeouts"),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Run a state machine to completion; print {"status","output","error","cause","executionArn"}."""
    from ..runtime.wiring import build_sfn_runtime

    doc = _read_definition(definition)
    try:
        machine = parser.parse(doc)
    except DefinitionError as exc:
        fail(f"{definition}: {exc}")
    payload = json_argument(input, "input")
    machine_name = state_machine or definition.name.split(".")[0]
    mocks: TestCaseMocks | None = None
    if mock_config is not None:
        if test_case is None:
            fail("--mock-config needs --test-case")
        try:
            mocks = MockConfig(json_argument(f"@{mock_config}", "mock config"), source=str(mock_config)).test_case(machine_name, test_case)
        except SluicewayError as exc:
            report_error(exc)
    settings = settings_from(data_dir, config)
    runtime = build_sfn_runtime(settings, skip_waits=skip_waits, answer=_mock_answer(mocks) if mocks else None)
    try:
        runtime.orchestrator.register(machine_name, machine)
        runtime.orchestrator.start(resume=False)  # a stack may run on this data dir: its executions are its own
        record = runtime.orchestrator.start_execution(machine_name, payload, name=name)
        record = runtime.orchestrator.wait(record.arn)
    except SluicewayError as exc:
        report_error(exc)
    finally:
        runtime.close()
    print(
        json.dumps(
            {
                "status": record.status,
                "output": record.output,
                "error": record.error,
                "cause": record.cause,
                "executionArn": record.arn,
            }
        )
    )


def _mock_answer(mocks: TestCaseMocks) -> Any:
    def answer(command: InvokeTask) -> TaskSucceeded | TaskFailed | None:
        if not mocks.mocks(command.state_name):
            return None
        call = mocks.next_call(command.state_name)
        if call.throws:
            return TaskFailed(command.token, str(call.error), call.cause)
        return TaskSucceeded(command.token, call.returns)

    return answer


@app.command()
def history(
    execution: str = typer.Argument(..., help="Execution ARN or name"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Print an execution's history events (AWS's shapes) as JSON."""
    from ..runtime.wiring import open_execution_store

    settings = settings_from(data_dir)
    store, close = open_execution_store(settings)
    try:
        events = store.history(execution)
    except SluicewayError as exc:
        report_error(exc)
    finally:
        close()
    console.print_json(json.dumps({"events": events}))
