"""Pass, Choice, Succeed and Fail: the states that move data and decide where to go, and end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import jsonpath
from ...types import JSON
from .. import dataflow, intrinsics, templates
from .. import jsonata as jsonata_lang
from ..choice import evaluate as evaluate_choice
from ..core import Failure, PathRecord, Run, StateType
from ..model import ChoiceState, FailState, JsonataChoice, PassState, Setting, SucceedState
from ..values import text

__all__ = ["ChoiceType", "FailType", "PassType", "SucceedType"]


class PassType(StateType[PassState]):
    def execute(self, run: Run, path: PathRecord, state: PassState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            output = run.jsonata_output(path, state, state.output, default=path["input"])
            run.assign_jsonata(path, state, state.assign)
            run.exit_state(path, state, output)
            return
        effective = run.effective_input(path, state)
        if state.result is not None:
            result = state.result.value
        elif state.parameters is not None:
            result = templates.resolve(state.parameters.value, run.scope(path, state, effective), field="Parameters", rng=run.rng())
        else:
            result = effective
        run.assign_jsonpath(path, state, result)
        output = dataflow.put(path["input"], state.result_path, result)
        run.exit_state(path, state, run.output_path(path, state, output))


class SucceedType(StateType[SucceedState]):
    def execute(self, run: Run, path: PathRecord, state: SucceedState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            output = run.jsonata_output(path, state, state.output, default=path["input"])
        else:
            output = run.output_path(path, state, run.effective_input(path, state))
        run.exit_state(path, state, output, end=True)


class FailType(StateType[FailState]):
    def execute(self, run: Run, path: PathRecord, state: FailState) -> None:
        path["entered_event"] = path["last_event"]
        error = self._field(run, path, state, state.error)
        cause = self._field(run, path, state, state.cause)
        run.fail_path(path, None if error is None else str(error), None if cause is None else str(cause))

    def _field(self, run: Run, path: Mapping[str, Any], state: FailState, setting: Setting | None) -> JSON:
        if setting is None:
            return None
        if state.query_language == "JSONata":
            if setting.path is not None:
                return None  # ErrorPath and CausePath are JSONPath fields
            return run.jsonata(setting.value, path, state, setting.name)
        if setting.path is None:
            return setting.value
        scope = run.scope(path, state, path["input"])
        if intrinsics.is_intrinsic(setting.path):
            return intrinsics.evaluate(setting.path, scope, run.rng(), field=setting.field)
        return jsonpath.select(setting.path, scope, field=setting.field)


class ChoiceType(StateType[ChoiceState]):
    def execute(self, run: Run, path: PathRecord, state: ChoiceState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            self._jsonata(run, path, state)
            return
        effective = run.effective_input(path, state)
        scope = run.scope(path, state, effective)
        for rule in state.choices:
            assert not isinstance(rule, JsonataChoice)
            if evaluate_choice(rule, scope):
                if rule.assign:
                    run.assign_values(path, templates.resolve(rule.assign, scope, field="Assign", rng=run.rng()))
                run.exit_state(path, state, run.output_path(path, state, effective), next_state=rule.next)
                return
        if state.default is None:
            raise Failure("States.NoChoiceMatched", "No Matches!")
        run.assign_jsonpath(path, state, effective)
        run.exit_state(path, state, run.output_path(path, state, effective), next_state=state.default)

    def _jsonata(self, run: Run, path: PathRecord, state: ChoiceState) -> None:
        bindings = run.bindings(path, state, input=path["input"])
        for rule in state.choices:
            assert isinstance(rule, JsonataChoice)
            if self._condition(run, rule.condition, bindings):
                output = run.jsonata_output(path, state, rule.output, default=path["input"])
                run.assign_jsonata(path, state, rule.assign)
                run.exit_state(path, state, output, next_state=rule.next)
                return
        if state.default is None:
            raise Failure("States.NoChoiceMatched", "No Matches!")
        output = run.jsonata_output(path, state, state.output, default=path["input"])
        run.assign_jsonata(path, state, state.assign)
        run.exit_state(path, state, output, next_state=state.default)

    def _condition(self, run: Run, condition: JSON, bindings: Mapping[str, JSON]) -> bool:
        # An expression is held to its type like Map's Items ("returned an unexpected result
        # type. Expected 'boolean' ..."); one that yields a function yields nothing, since AWS
        # turns results into JSON as JSON.stringify does, and that drops functions.
        value = jsonata_lang.resolve(condition, bindings, run.rng(), field="Condition", now=run.now, expected="boolean")
        if not isinstance(value, bool):
            raise jsonata_lang.QueryEvaluationError(
                f"The JSONata expression in the field 'Condition' must return a boolean, got {text(value)}", location="Condition"
            )
        return value
