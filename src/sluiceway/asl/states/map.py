"""Map: one child path per item, at most MaxConcurrency at a time, within a tolerated failure rate.

Items come from the input (``ItemsPath``, JSONata ``Items``) or, for a Distributed Map, from an
``ItemReader`` the runtime reads (:class:`~sluiceway.asl.commands.ReadItems`); an
``ItemBatcher`` groups them; ``ItemSelector`` builds each iteration's input; a ``ResultWriter``
has the runtime store the results (:class:`~sluiceway.asl.commands.WriteResults`). A Distributed
Map's iterations are child executions with their own histories.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from ... import jsonpath
from ...errors import StatesError
from ...types import JSON, json_type
from .. import jsonata as jsonata_lang
from .. import limits, templates
from ..commands import ReadItems, WriteResults
from ..core import Failure, PathRecord, Run, StateType
from ..items import batch_items
from ..model import ItemReader, MapState, Setting
from ..values import text, too_deep_cause

__all__ = ["MapType", "map_io_command"]


def map_io_command(token: str, info: Mapping[str, Any]) -> ReadItems | WriteResults:
    """The command for an item read or a result write recorded in the execution's tasks."""
    if info["kind"] == "reader":
        return ReadItems(token, info["resource"], info["parameters"], info["config"], info["state"])
    return WriteResults(token, info["resource"], info["parameters"], info["config"], info["records"], info["map_run"], info["state"])


class MapType(StateType[MapState]):
    def execute(self, run: Run, path: PathRecord, state: MapState) -> None:
        path["entered_event"] = path["last_event"]
        if state.item_reader is not None and "reader_items" not in path:
            self._schedule_io(run, path, state, "reader", None)
            return
        if "reader_items" in path:
            items = path.pop("reader_items")
            scope_input = path["input"] if state.query_language == "JSONata" else run.effective_input(path, state)
        elif state.query_language == "JSONata":
            items = self._jsonata_items(run, path, state)
            scope_input = path["input"]
        else:
            scope_input = run.effective_input(path, state)
            items = jsonpath.select(state.items_path, run.scope(path, state, scope_input), field=None)
            if not isinstance(items, list):
                raise StatesError(
                    "States.Runtime",
                    f"Item path {state.items_path} in state {state.name} does not reference an array: {text(items)}",
                )
        scope = run.scope(path, state, scope_input)
        if state.item_reader is not None:
            # ReaderConfig.MaxItems: 0 (or none) reads every item; AWS's item reader refuses a negative one.
            max_items = _int_setting(run, state.item_reader.max_items, scope, path, state, default=None)
            if max_items is not None and max_items < 0:
                raise Failure("States.ItemReaderFailed", "field MaxItems must be positive")
            if max_items:
                items = items[:max_items]
        if state.item_batcher is not None:
            batcher = state.item_batcher
            batch_input: JSON = None
            if batcher.batch_input is not None:
                batch_input = (
                    jsonata_lang.resolve(
                        batcher.batch_input.value,
                        run.bindings(path, state, input=path["input"]),
                        run.rng(),
                        field="BatchInput",
                        now=run.now,
                    )
                    if state.query_language == "JSONata"
                    else templates.resolve(batcher.batch_input.value, scope, field="BatchInput", rng=run.rng())
                )
            items = batch_items(
                items,
                max_items=_int_setting(run, batcher.max_items_per_batch, scope, path, state, default=None),
                max_bytes=_int_setting(run, batcher.max_input_bytes_per_batch, scope, path, state, default=None),
                batch_input=batch_input,
            )
        max_concurrency = _int_setting(run, state.max_concurrency, scope, path, state, default=0)
        run.emit(path["pid"], "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
        # The tolerated failure threshold configures the Map Run: AWS reads it once the state has started.
        tolerated_count = _int_setting(run, state.tolerated_failure_count, scope, path, state, default=None)
        tolerated_pct = _number_setting(run, state.tolerated_failure_percentage, scope, path, state)
        if tolerated_count is not None and tolerated_count < 0:
            raise StatesError("States.Runtime", "ToleratedFailureCount cannot be negative.")
        if tolerated_pct is not None and not 0 <= tolerated_pct <= 100:
            raise StatesError("States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.")
        map_run = None
        if state.distributed:
            # The iterations of a Distributed Map are a Map Run of child executions: the execution's
            # history records the run (MapRunStarted ... MapRunSucceeded/Failed), not its iterations.
            map_run = _map_run_arn(run, state, run.token("maprun"))
            run.emit(path["pid"], "MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": map_run})
        path["phase"] = "children"
        path["children"] = {
            "kind": "map",
            "items": items,
            "selector": state.item_selector_field if state.item_selector is not None else None,
            "results": [None] * len(items),
            "next": 0,
            "open": [],
            "done": 0,
            "failed": 0,
            "total": len(items),
            "max": max_concurrency or 0,
            "tolerated_count": tolerated_count,
            "tolerated_pct": tolerated_pct,
            "records": [None] * len(items) if state.result_writer is not None else None,
            "distributed": state.distributed,
            "map_run": map_run,
        }
        if not items:
            self._children_done(run, path, state)
            return
        self._spawn(run, path, state)

    def _jsonata_items(self, run: Run, path: PathRecord, state: MapState) -> list[JSON]:
        if state.items is None:
            items = path["input"]
            if not isinstance(items, list):
                raise jsonata_lang.QueryEvaluationError(f"Map state input must be an array but was: {text(items)}")
            return items
        # An array may hold expressions at any depth ([1, "{% $two %}", 3]); each is evaluated.
        template = state.items.value
        items = run.jsonata(template, path, state, "Items")
        if not isinstance(items, list):
            expression = template.strip()[2:-2].strip() if isinstance(template, str) else text(template)
            raise jsonata_lang.QueryEvaluationError(
                f"The JSONata expression '{expression}' specified for the field 'Items' returned an unexpected "
                f"result type. Expected 'array', but was '{json_type(items)}' for value: {text(items)}",
                location="Items",
            )
        return items

    def _spawn(self, run: Run, path: PathRecord, state: MapState) -> None:
        """Start iterations until MaxConcurrency are open or every item has one."""
        children = path["children"]
        processor = state.item_processor
        while children["next"] < children["total"] and (children["max"] == 0 or len(children["open"]) < children["max"]):
            index = children["next"]
            children["next"] += 1
            item = children["items"][index]
            item_context = {"Map": {"Item": {"Index": index, "Value": item}}}
            if state.item_selector is not None:
                template = state.item_selector.value
                ctx_path = dict(path)
                ctx_path["context_extra"] = {**path.get("context_extra", {}), **item_context}
                if state.query_language == "JSONata":
                    bindings = run.bindings(ctx_path, state, input=path["input"])
                    item_input = jsonata_lang.resolve(template, bindings, run.rng(), field="ItemSelector", now=run.now)
                else:
                    scope = run.scope(ctx_path, state, run.effective_input(path, state))
                    item_input = templates.resolve(template, scope, field=state.item_selector_field, rng=run.rng())
            else:
                item_input = item
            if not state.distributed:
                run.emit(path["pid"], "MapIterationStarted", "mapIterationStartedEventDetails", {"name": state.name, "index": index})
            if children.get("records") is not None:
                children["records"][index] = {"Index": index, "Input": item_input, "Status": "RUNNING"}
            child = run.new_path(
                parent=path["pid"],
                slot=index,
                machine_path=[*path["machine"], [state.name, 0]],
                state_name=processor.start_at,
                input=item_input,
                context_extra=item_context,
                last_event=path["last_event"],
                own_history=bool(children.get("distributed")),
            )
            children["open"].append(child)

    def failed(self, run: Run, path: PathRecord, state: MapState, error: str | None) -> None:
        run.emit(path["pid"], "MapStateFailed", None, None)

    def _stop(self, run: Run, path: PathRecord) -> None:
        """An iteration's input could not be built: stop the iterations already started."""
        if "children" in path:
            run.cancel_children(path)
            path.pop("children")
            path["phase"] = "running"

    def child_finished(self, run: Run, parent: PathRecord, state: MapState, child: Mapping[str, Any], output: JSON) -> None:
        children = parent["children"]
        children["results"][child["slot"]] = output
        if children.get("records") is not None:
            children["records"][child["slot"]].update({"Status": "SUCCEEDED", "Output": output})
        children["done"] += 1
        if child["pid"] in children["open"]:
            children["open"].remove(child["pid"])
        if not state.distributed:
            details = {"name": state.name, "index": child["slot"]}
            run.emit(parent["pid"], "MapIterationSucceeded", "mapIterationSucceededEventDetails", details)
        self._next(run, parent, state)

    def child_failed(
        self, run: Run, parent: PathRecord, state: MapState, child: Mapping[str, Any], error: str | None, cause: str | None
    ) -> None:
        children = parent["children"]
        if child["pid"] in children["open"]:
            children["open"].remove(child["pid"])
        if not state.distributed:
            run.emit(parent["pid"], "MapIterationFailed", "mapIterationFailedEventDetails", {"name": state.name, "index": child["slot"]})
        children["failed"] += 1
        children["done"] += 1
        if children.get("records") is not None:
            children["records"][child["slot"]].update({"Status": "FAILED", "Error": error, "Cause": cause})
        if _within_tolerance(children):
            children["results"][child["slot"]] = {"Error": error, "Cause": cause}
            self._next(run, parent, state)
            return
        # A Distributed Map's run fails as a whole once its failures exceed the tolerated threshold,
        # which is 0% by default (AWS: "the workflow fails if any one of its child workflow
        # executions fails or times out"); an inline Map fails with its iteration's error.
        if children.get("distributed") or children["tolerated_count"] is not None or children["tolerated_pct"] is not None:
            error, cause = "States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded"
        run.cancel_children(parent)
        if state.distributed:
            failed: dict[str, Any] = {"error": error} if error is not None else {}
            if cause is not None:
                failed["cause"] = cause
            run.emit(parent["pid"], "MapRunFailed", "mapRunFailedEventDetails", failed)
        parent.pop("children", None)
        parent["phase"] = "running"
        run.state_failed(parent, state, error, cause)

    def _next(self, run: Run, parent: PathRecord, state: MapState) -> None:
        """After an iteration ended: start the next ones, or finish when none is left."""
        children = parent["children"]
        spawned: list[bool] = []

        def spawn() -> None:
            self._spawn(run, parent, state)
            spawned.append(True)

        run.guarded(parent, state, spawn, on_error=lambda: self._stop(run, parent))
        if spawned and children["done"] >= children["total"]:
            self._children_done(run, parent, state)

    def _children_done(self, run: Run, path: PathRecord, state: MapState) -> None:
        children = path.pop("children")
        path["phase"] = "running"
        if state.result_writer is not None:
            records, map_run = children["records"], children.get("map_run")
            run.guarded(path, state, lambda: self._schedule_io(run, path, state, "writer", records, map_run))
            return
        self._done(run, path, state, children["results"])

    def _done(self, run: Run, path: PathRecord, state: MapState, result: JSON) -> None:
        if state.distributed:
            run.emit(path["pid"], "MapRunSucceeded", None, None)
        run.emit(path["pid"], "MapStateSucceeded", None, None)
        run.guarded(path, state, lambda: run.apply_result(path, state, result))

    # -- ItemReader and ResultWriter --------------------------------------------------------

    def _schedule_io(
        self, run: Run, path: PathRecord, state: MapState, kind: str, records: list[Any] | None, map_run: str | None = None
    ) -> None:
        """Ask the runtime to read items (ItemReader) or write results (ResultWriter)."""
        io = state.item_reader if kind == "reader" else state.result_writer
        assert io is not None
        if state.query_language == "JSONata":
            bindings = run.bindings(path, state, input=path["input"])
            arguments = io.arguments.value if io.arguments is not None else {}
            parameters = jsonata_lang.resolve(arguments, bindings, run.rng(), field="Arguments", now=run.now)
        else:
            scope = run.scope(path, state, run.effective_input(path, state))
            template = io.parameters.value if io.parameters is not None else {}
            parameters = templates.resolve(template, scope, field="Parameters", rng=run.rng())
        token = run.token(kind)
        info: dict[str, Any] = {"pid": path["pid"], "kind": kind, "resource": io.resource, "state": state.name, "parameters": parameters}
        run.state["tasks"][token] = info
        path["phase"] = "task"
        path["task"] = token
        if isinstance(io, ItemReader):
            info["config"] = dict(io.reader_config)
        else:
            info["config"] = dict(io.writer_config)
            info["records"] = [r for r in records or [] if r]
            info["map_run"] = map_run or _map_run_arn(run, state, token)
            path["map_run_arn"] = info["map_run"]
        run.commands.append(map_io_command(token, info))

    def task_succeeded(self, run: Run, path: PathRecord, state: MapState, task: Mapping[str, Any], output: JSON) -> None:
        path["phase"] = "running"
        path.pop("task", None)
        if limits.too_deep(output):
            run.state_failed(path, state, "States.DataLimitExceeded", too_deep_cause(f"The result of the state '{task['state']}'"))
            return
        if task["kind"] == "reader":
            if not isinstance(output, list):
                run.state_failed(path, state, "States.ItemReaderFailed", "The item reader did not return a list of items")
                return
            path["reader_items"] = output
            run.execute(path, state)
            return
        self._done(run, path, state, {"MapRunArn": path.pop("map_run_arn", None), "ResultWriterDetails": output})

    def task_failed(self, run: Run, path: PathRecord, state: MapState, task: Mapping[str, Any], error: str, cause: str | None) -> None:
        path["phase"] = "running"
        failure = "States.ItemReaderFailed" if task["kind"] == "reader" else "States.ResultWriterFailed"
        run.state_failed(path, state, failure, cause or error)


def _map_run_arn(run: Run, state: MapState, token: str) -> str:
    """``arn:aws:states:<region>:<account>:mapRun:<state machine>/<label>:<id>`` (the label defaults to the state's name)."""
    context = run.state["context"]
    digest = hashlib.sha256((context["Execution"]["Id"] + token).encode()).hexdigest()[:12]
    return f"{context['StateMachine']['Id'].replace(':stateMachine:', ':mapRun:')}/{state.label or state.name}:{digest}"


def _within_tolerance(children: Mapping[str, Any]) -> bool:
    count, pct = children["tolerated_count"], children["tolerated_pct"]
    if count is None and pct is None:
        return False
    if count is not None and children["failed"] <= count:
        return True
    return bool(pct is not None and children["total"] and children["failed"] * 100.0 / children["total"] <= pct)


def _int_setting(
    run: Run, setting: Setting | None, scope: jsonpath.Scope, path: Mapping[str, Any], state: MapState, *, default: int | None
) -> int | None:
    if setting is None:
        return default
    if setting.path is not None:
        raw = jsonpath.select(setting.path, scope, field=None)
        value = _java_int(raw)
        if value is None:
            raise StatesError("States.Runtime", _not_valid(setting, raw, "integer"))
        return value
    value = setting.value
    if state.query_language == "JSONata" and isinstance(value, str):
        value = run.jsonata(value, path, state, setting.name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StatesError("States.Runtime", f"{setting.name} must be an integer, got {text(value)}")
    return value


def _number_setting(run: Run, setting: Setting | None, scope: jsonpath.Scope, path: Mapping[str, Any], state: MapState) -> float | None:
    if setting is None:
        return None
    if setting.path is not None:
        raw = jsonpath.select(setting.path, scope, field=None)
        number = _java_float(raw)
        if number is None:
            raise StatesError("States.Runtime", _not_valid(setting, raw, "float"))
        return number
    value = setting.value
    if state.query_language == "JSONata" and isinstance(value, str):
        value = run.jsonata(value, path, state, setting.name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise StatesError("States.Runtime", f"{setting.name} must be a number, got {text(value)}")
    return float(value)


# A ``*Path`` setting's value is read the way AWS's JVM reads it: the value as Java prints it
# (a string as it is, 1.5 as "1.5", {} as "{}"), parsed with Integer.parseInt or
# Float.parseFloat. So "5" is 5, while 1.5, true, "five" or an object are "not a valid integer".
_JAVA_INT: Final = re.compile(r"[+-]?\d+")
_JAVA_FLOAT: Final = re.compile(r"[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)")
_INT_RANGE: Final = range(-(2**31), 2**31)


def _java_int(value: JSON) -> int | None:
    """What ``Integer.parseInt`` makes of the value's text, or None when it refuses it."""
    text_value = jsonpath.java_text(value)
    if not _JAVA_INT.fullmatch(text_value):
        return None
    number = int(text_value)
    return number if number in _INT_RANGE else None


def _java_float(value: JSON) -> float | None:
    """What ``Float.parseFloat`` makes of the value's text (it ignores surrounding blanks), or None."""
    text_value = jsonpath.java_text(value).strip(" \t\n\r\x0b\x0c")
    if not _JAVA_FLOAT.fullmatch(text_value):
        return None
    return float(text_value.rstrip("fFdD").replace("Infinity", "inf"))


def _not_valid(setting: Setting, raw: JSON, kind: str) -> str:
    return f'The {setting.field} field refers to value "{jsonpath.java_text(raw)}" which is not a valid {kind}: {setting.path}'
