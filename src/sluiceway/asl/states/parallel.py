"""Parallel: one child path per branch, all given the same input; the result is their outputs in order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...types import JSON
from .. import jsonata as jsonata_lang
from .. import templates
from ..core import PathRecord, Run, StateType
from ..model import ParallelState

__all__ = ["ParallelType"]


class ParallelType(StateType[ParallelState]):
    def execute(self, run: Run, path: PathRecord, state: ParallelState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            bindings = run.bindings(path, state, input=path["input"])
            branch_input = (
                jsonata_lang.resolve(state.arguments.value, bindings, run.rng(), field="Arguments", now=run.now)
                if state.arguments is not None
                else path["input"]
            )
        else:
            effective = run.effective_input(path, state)
            branch_input = (
                templates.resolve(state.parameters.value, run.scope(path, state, effective), field="Parameters", rng=run.rng())
                if state.parameters is not None
                else effective
            )
        run.emit(path["pid"], "ParallelStateStarted", None, None)
        path["phase"] = "children"
        path["children"] = {
            "kind": "parallel",
            "results": [None] * len(state.branches),
            "open": [],
            "done": 0,
            "total": len(state.branches),
        }
        for index, branch in enumerate(state.branches):
            child = run.new_path(
                parent=path["pid"],
                slot=index,
                machine_path=[*path["machine"], [state.name, index]],
                state_name=branch.start_at,
                input=branch_input,
                last_event=path["last_event"],
            )
            path["children"]["open"].append(child)

    def failed(self, run: Run, path: PathRecord, state: ParallelState, error: str | None) -> None:
        run.emit(path["pid"], "ParallelStateFailed", None, None)

    def child_finished(self, run: Run, parent: PathRecord, state: ParallelState, child: Mapping[str, Any], output: JSON) -> None:
        children = parent["children"]
        children["results"][child["slot"]] = output
        children["done"] += 1
        if child["pid"] in children["open"]:
            children["open"].remove(child["pid"])
        if children["done"] >= children["total"]:
            results = parent.pop("children")["results"]
            parent["phase"] = "running"
            run.emit(parent["pid"], "ParallelStateSucceeded", None, None)
            run.guarded(parent, state, lambda: run.apply_result(parent, state, results))

    def child_failed(
        self, run: Run, parent: PathRecord, state: ParallelState, child: Mapping[str, Any], error: str | None, cause: str | None
    ) -> None:
        children = parent["children"]
        if child["pid"] in children["open"]:
            children["open"].remove(child["pid"])
        run.cancel_children(parent)
        parent["phase"] = "running"
        run.state_failed(parent, state, error, cause)
