"""Parse and validate an ASL definition into frozen :mod:`~sluiceway.asl.model` objects.

Validation collects every problem with its JSON location (like Step Functions'
ValidateStateMachineDefinition) and raises one :class:`DefinitionError`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from .. import jsonpath
from ..errors import DefinitionError
from . import choice as choice_rules
from . import intrinsics, limits, templates
from . import jsonata as jsonata_lang
from .choice import ChoiceRule
from .model import (
    Catcher,
    ChoiceState,
    ExecutionState,
    FailState,
    ItemBatcher,
    ItemReader,
    JsonataChoice,
    MapState,
    ParallelState,
    PassState,
    ProcessorConfig,
    QueryLanguage,
    ResultWriter,
    Retrier,
    Setting,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    Template,
    WaitState,
)
from .sdk_services import sdk_resource_problem

__all__ = ["Diagnostic", "parse", "parse_text", "substitute", "validate"]

STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
_COMMON = {"Type", "Comment", "QueryLanguage"}
_JSONPATH_ONLY = {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath"}
_JSONATA_ONLY = {"Arguments", "Output"}
_FIELDS: dict[str, set[str]] = {
    "Pass": {"Next", "End", "Result", "Assign"} | _JSONPATH_ONLY - {"ResultSelector"} | {"Output"},
    "Task": {
        "Next",
        "End",
        "Resource",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Retry",
        "Catch",
        "Credentials",
        "Assign",
    }
    | _JSONPATH_ONLY
    | _JSONATA_ONLY,
    "Choice": {"Choices", "Default", "InputPath", "OutputPath", "Assign", "Output"},
    "Wait": {"Next", "End", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "InputPath", "OutputPath", "Assign", "Output"},
    "Succeed": {"InputPath", "OutputPath", "Output"},
    "Fail": {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": {"Next", "End", "Branches", "Retry", "Catch", "Assign", "Arguments"} | _JSONPATH_ONLY | {"Output"},
    "Map": {
        "Next",
        "End",
        "Iterator",
        "ItemProcessor",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "Retry",
        "Catch",
        "Assign",
    }
    | _JSONPATH_ONLY
    | _JSONATA_ONLY,
}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class Diagnostic:
    """One validation finding, in ValidateStateMachineDefinition's shape."""

    code: str
    location: str
    message: str
    severity: str = "ERROR"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "location": self.location, "message": self.message, "severity": self.severity}


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    """Replace ``${Name}`` placeholders as SAM's DefinitionSubstitutions do.

    Raises:
        DefinitionError: a placeholder has no substitution.
    """
    missing = sorted({m for m in _PLACEHOLDER.findall(text) if m not in substitutions})
    if missing:
        raise DefinitionError([f"/: no substitution for placeholder ${{{name}}}" for name in missing])
    return _PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], text)


def parse_text(text: str, substitutions: Mapping[str, str] | None = None) -> StateMachine:
    """Parse definition JSON text (after substituting placeholders)."""
    if substitutions is not None:
        text = substitute(text, substitutions)
    if len(text) > limits.MAX_DEFINITION_CHARS:
        raise DefinitionError([f"/: The definition is {len(text)} characters long; at most {limits.MAX_DEFINITION_CHARS} are allowed"])
    try:
        doc = limits.load_json(text)
    except ValueError as exc:
        raise DefinitionError([f"/: the definition is not valid JSON: {exc}"]) from exc
    return parse(doc)


def validate(doc: Any) -> list[Diagnostic]:
    """Return every problem with ``doc`` (empty when it is valid)."""
    diagnostics: list[Diagnostic] = []
    if not isinstance(doc, Mapping):
        return [Diagnostic("SCHEMA_VALIDATION_FAILED", "/", "The definition must be a JSON object")]
    problem = limits.definition_problem(doc)
    if problem is not None:
        return [Diagnostic("SCHEMA_VALIDATION_FAILED", "/", problem)]
    _Parser(diagnostics).machine(doc, "", None, top=True)
    return diagnostics


def parse(doc: Any) -> StateMachine:
    """Parse a definition object into a frozen :class:`StateMachine`.

    Raises:
        DefinitionError: listing every problem found, each with its JSON location.
    """
    diagnostics: list[Diagnostic] = []
    if not isinstance(doc, Mapping):
        raise DefinitionError(["/: The definition must be a JSON object"])
    machine: StateMachine | None = None
    # Checked first: the checks below walk the definition recursively and serialise it.
    problem = limits.definition_problem(doc)
    if problem is not None:
        diagnostics.append(Diagnostic("SCHEMA_VALIDATION_FAILED", "/", problem))
    else:
        # A copy: the machine is frozen, so nothing the caller does to ``doc`` later may reach it.
        machine = _Parser(diagnostics).machine(copy.deepcopy(doc), "", None, top=True)
    if diagnostics or machine is None:
        error = DefinitionError([str(d) for d in diagnostics])
        error.diagnostics = diagnostics  # type: ignore[attr-defined]
        raise error
    return machine


class _Parser:
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics

    def problem(self, location: str, message: str, code: str = "SCHEMA_VALIDATION_FAILED") -> None:
        self.diagnostics.append(Diagnostic(code, location or "/", message))

    def machine(self, doc: Mapping[str, Any], where: str, inherited: QueryLanguage | None, *, top: bool = False) -> StateMachine | None:
        required = [f for f in ("States", "StartAt") if f not in doc]
        if required:
            self.problem(where or "/", f"These fields are required: [{', '.join(required)}]")
            return None
        language: QueryLanguage = inherited or "JSONPath"
        if "QueryLanguage" in doc:
            if doc["QueryLanguage"] not in ("JSONPath", "JSONata"):
                self.problem(f"{where}/QueryLanguage", f"Unknown QueryLanguage {doc['QueryLanguage']!r}")
            else:
                language = doc["QueryLanguage"]
        states_doc = doc["States"]
        start_at = doc["StartAt"]
        if not isinstance(states_doc, Mapping) or not states_doc:
            self.problem(f"{where}/States", "States must be a non-empty object")
            return None
        if not isinstance(start_at, str) or start_at not in states_doc:
            self.problem(f"{where}/StartAt", f"StartAt {start_at!r} does not name a state", "MISSING_TRANSITION_TARGET")
        timeout = doc.get("TimeoutSeconds")
        if timeout is not None and (not _int(timeout) or not 0 < timeout <= limits.MAX_TIMER_SECONDS):
            self.problem(f"{where}/TimeoutSeconds", f"TimeoutSeconds must be a positive integer no greater than {limits.MAX_TIMER_SECONDS}")
        states: dict[str, State] = {}
        for name, state_doc in states_doc.items():
            state = self.state(str(name), state_doc, f"{where}/States/{name}", language, top_language=language if top else None)
            if state is not None:
                states[str(name)] = state
        self._check_transitions(states, start_at, where)
        return StateMachine(
            start_at=str(start_at),
            states=states,
            query_language=language,
            comment=doc.get("Comment"),
            timeout_s=float(timeout) if _int(timeout) and 0 < timeout <= limits.MAX_TIMER_SECONDS else None,
            definition=doc,
        )

    def _check_transitions(self, states: Mapping[str, State], start_at: Any, where: str) -> None:
        for state in states.values():
            targets: list[tuple[str | None, str]] = [(state.next, "Next")] if state.next is not None else []
            if isinstance(state, ExecutionState):
                targets += [(c.next, "Catch") for c in state.catch]
            if isinstance(state, ChoiceState):
                targets += [(rule.next, "Choices") for rule in state.choices]
                if state.default is not None:
                    targets.append((state.default, "Default"))
            for target, field in targets:
                if isinstance(target, str) and target not in states:
                    self.problem(
                        f"{where}/States/{state.name}/{field}",
                        f"Missing 'Next' target: {target}",
                        "MISSING_TRANSITION_TARGET",
                    )
        # Reachability from StartAt.
        seen: set[str] = set()
        todo: list[str] = [start_at] if isinstance(start_at, str) else []
        while todo:
            name = todo.pop()
            if name in seen or name not in states:
                continue
            seen.add(name)
            state = states[name]
            if state.next:
                todo.append(state.next)
            if isinstance(state, ExecutionState):
                todo.extend(c.next for c in state.catch)
            if isinstance(state, ChoiceState):
                todo.extend(rule.next for rule in state.choices if rule.next)
                if state.default is not None:
                    todo.append(state.default)
        for name in states:
            if name not in seen and isinstance(start_at, str) and start_at in states:
                self.problem(f"{where}/States/{name}", f"State {name!r} is not reachable", "UNREACHABLE_STATE")

    def state(self, name: str, doc: Any, where: str, inherited: QueryLanguage, *, top_language: QueryLanguage | None) -> State | None:
        if not isinstance(doc, Mapping):
            self.problem(where, "A state must be a JSON object")
            return None
        if len(name) > 80:
            self.problem(where, "State names must be at most 80 characters")
        kind = doc.get("Type")
        if not isinstance(kind, str) or kind not in STATE_TYPES:
            self.problem(f"{where}/Type", f"Unknown state type {kind!r}")
            return None
        language: QueryLanguage = inherited
        if "QueryLanguage" in doc:
            declared = doc["QueryLanguage"]
            if declared not in ("JSONPath", "JSONata"):
                self.problem(f"{where}/QueryLanguage", f"Unknown QueryLanguage {declared!r}")
            elif declared == "JSONPath" and inherited == "JSONata" and top_language == "JSONata":
                self.problem(where, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")
            else:
                language = declared
        allowed = _FIELDS[kind] | _COMMON
        for field in doc:
            if field not in allowed:
                self.problem(where, f"Field {field!r} is not supported for state type {kind}")
            elif language == "JSONata" and field in _JSONPATH_ONLY | {"ItemsPath", "ItemSelector", "Iterator"}:
                if not (field == "ItemSelector" and kind == "Map"):
                    self.problem(where, f"The field {field!r} is not supported when QueryLanguage is JSONata")
            elif language == "JSONPath" and field in _JSONATA_ONLY | {"Items"}:
                self.problem(where, f"The field {field!r} is not supported when QueryLanguage is JSONPath")
        terminal = kind in ("Succeed", "Fail", "Choice")
        has_next, has_end = "Next" in doc, doc.get("End") is True
        if not terminal:
            if has_next and has_end:
                self.problem(where, "A state cannot have both 'Next' and 'End'")
            elif not has_next and not has_end:
                self.problem(where, "A non-terminal state must have 'Next' or 'End': true")
        for path_field in ("InputPath", "OutputPath", "ResultPath", "ItemsPath"):
            value = doc.get(path_field, "$")
            if value is not None and (not isinstance(value, str) or not value.startswith("$")):
                self.problem(f"{where}/{path_field}", f"{path_field} must be a JSONPath starting with '$' or null")
            elif value is not None and path_field in doc:
                for issue in jsonpath.validate_path(value, reference=path_field == "ResultPath"):
                    self.problem(f"{where}/{path_field}", issue)
        if language == "JSONPath":
            for template_field in ("Parameters", "ResultSelector", "ItemSelector", "Assign"):
                if template_field in doc:
                    for issue in templates.validate_template(doc[template_field], f"{where}/{template_field}"):
                        at, sep, message = issue.partition(": ")
                        self.problem(at if sep else f"{where}/{template_field}", message if sep else issue)
        else:
            for at, expression in _jsonata_strings(doc, where):
                problem = jsonata_lang.syntax_error(jsonata_lang.expression_text(expression))
                if problem:
                    self.problem(at, f"The JSONata expression is not valid: {problem}")
        self._values(kind, doc, where, language)
        common: dict[str, Any] = {
            "name": name,
            "query_language": language,
            "comment": doc.get("Comment") if isinstance(doc.get("Comment"), str) else None,
            "next": doc["Next"] if isinstance(doc.get("Next"), str) else None,
            "end": has_end,
            "input_path": _path(doc, "InputPath"),
            "output_path": _path(doc, "OutputPath"),
            "output": _template(doc, "Output"),
            "assign": _template(doc, "Assign"),
        }
        if kind == "Pass":
            return PassState(
                **common, result=_template(doc, "Result"), parameters=_template(doc, "Parameters"), result_path=_path(doc, "ResultPath")
            )
        if kind == "Succeed":
            return SucceedState(**common)
        if kind == "Fail":
            # A path given with a literal wins, as it always has here.
            return FailState(**common, error=_setting(doc, "Error", prefer_path=True), cause=_setting(doc, "Cause", prefer_path=True))
        if kind == "Wait":
            return WaitState(**common, seconds=_setting(doc, "Seconds"), timestamp=_setting(doc, "Timestamp"))
        if kind == "Choice":
            choices = self._choices(doc.get("Choices"), f"{where}/Choices", language)
            default = doc["Default"] if isinstance(doc.get("Default"), str) else None
            return ChoiceState(**common, choices=choices, default=default)
        common.update(
            parameters=_template(doc, "Parameters"),
            arguments=_template(doc, "Arguments"),
            result_selector=_template(doc, "ResultSelector"),
            result_path=_path(doc, "ResultPath"),
            retry=self._retry(doc.get("Retry", []), f"{where}/Retry"),
            catch=self._catch(doc.get("Catch", []), f"{where}/Catch", language),
        )
        if kind == "Task":
            resource = doc.get("Resource")
            if not isinstance(resource, str):
                self.problem(f"{where}/Resource", "Task needs a Resource string")
            elif (refusal := sdk_resource_problem(resource)) is not None:
                self.problem(f"{where}/Resource", refusal)
            return TaskState(
                **common,
                resource=resource if isinstance(resource, str) else "",
                timeout=_setting(doc, "TimeoutSeconds"),
                heartbeat=_setting(doc, "HeartbeatSeconds"),
                credentials=doc.get("Credentials"),
            )
        if kind == "Parallel":
            docs = doc.get("Branches")
            branches: tuple[StateMachine, ...] = ()
            if not isinstance(docs, list) or not docs or not all(isinstance(b, Mapping) for b in docs):
                self.problem(f"{where}/Branches", "Parallel needs a non-empty Branches list of objects")
            else:
                parsed = [self.machine(b, f"{where}/Branches/{i}", language) for i, b in enumerate(docs)]
                branches = tuple(p for p in parsed if p is not None)
            return ParallelState(**common, branches=branches)
        return self._map(doc, where, language, common)

    def _map(self, doc: Mapping[str, Any], where: str, language: QueryLanguage, common: dict[str, Any]) -> MapState:
        field = "ItemProcessor" if "ItemProcessor" in doc else "Iterator"
        processor_doc = doc.get(field)
        processor: StateMachine | None = None
        if not isinstance(processor_doc, Mapping):
            self.problem(where, "Map needs an ItemProcessor")
        else:
            processor = self.machine(processor_doc, f"{where}/{field}", language)
        config = processor_doc.get("ProcessorConfig") if isinstance(processor_doc, Mapping) else None
        config = config if isinstance(config, Mapping) else {}
        # In JSONPath, Map's Parameters is the legacy name of ItemSelector.
        selector_field = "ItemSelector" if "ItemSelector" in doc else "Parameters"
        common = {**common, "parameters": None}
        return MapState(
            **common,
            item_processor=processor if processor is not None else StateMachine(start_at="", states={}),
            processor=ProcessorConfig(
                mode=str(config.get("Mode", "INLINE")),
                execution_type=config["ExecutionType"] if isinstance(config.get("ExecutionType"), str) else None,
            ),
            items_path=doc["ItemsPath"] if isinstance(doc.get("ItemsPath"), str) else "$",
            items=_template(doc, "Items"),
            item_selector=_template(doc, selector_field),
            item_selector_field=selector_field,
            max_concurrency=_setting(doc, "MaxConcurrency"),
            tolerated_failure_count=_setting(doc, "ToleratedFailureCount"),
            tolerated_failure_percentage=_setting(doc, "ToleratedFailurePercentage"),
            label=doc["Label"] if isinstance(doc.get("Label"), str) else None,
            item_reader=_item_reader(doc.get("ItemReader")),
            item_batcher=_item_batcher(doc.get("ItemBatcher")),
            result_writer=_result_writer(doc.get("ResultWriter")),
        )

    def _values(self, kind: str, doc: Mapping[str, Any], where: str, language: QueryLanguage) -> None:
        """The types and ranges of the fields the interpreter reads as they are."""
        jsonata = language == "JSONata"
        for field in ("Next", "Default"):
            if field in doc and not isinstance(doc[field], str):
                self.problem(f"{where}/{field}", f"The field '{field}' must be a state name")
        if "Assign" in doc and not isinstance(doc["Assign"], Mapping):
            self.problem(f"{where}/Assign", "The field 'Assign' must be a JSON object")
        path_fields = ["SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath"]
        path_fields += [f"{name}Path" for name in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage")]
        for field in path_fields:
            if field in doc:
                for issue in jsonpath.validate_path(doc[field]):
                    self.problem(f"{where}/{field}", issue)
        if kind == "Wait":
            given = [f for f in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if f in doc]
            if len(given) != 1:
                self.problem(where, "A Wait state must have exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath'")
            self._seconds(doc, "Seconds", where, jsonata, lowest=0)
            if "Timestamp" in doc and not isinstance(doc["Timestamp"], str):
                self.problem(f"{where}/Timestamp", "The field 'Timestamp' must be a string")
        elif kind == "Task":
            self._seconds(doc, "TimeoutSeconds", where, jsonata, lowest=1)
            self._seconds(doc, "HeartbeatSeconds", where, jsonata, lowest=1)
        elif kind == "Fail":
            for field in ("ErrorPath", "CausePath"):
                if field in doc:
                    value = doc[field]
                    intrinsic = isinstance(value, str) and value.startswith("States.")
                    for issue in intrinsics.validate(value) if intrinsic else jsonpath.validate_path(value):
                        self.problem(f"{where}/{field}", issue)
        elif kind == "Map":
            for field in ("ItemReader", "ItemBatcher", "ResultWriter"):
                if field in doc:
                    self._map_config(doc[field], f"{where}/{field}", language)

    def _seconds(self, doc: Mapping[str, Any], field: str, where: str, jsonata: bool, *, lowest: int) -> None:
        """A literal number of seconds, within what AWS accepts (or, in JSONata, an expression)."""
        if field not in doc:
            return
        value = doc[field]
        if jsonata and jsonata_lang.is_expression(value):
            return
        if not isinstance(value, int | float) or isinstance(value, bool) or not lowest <= value <= limits.MAX_TIMER_SECONDS:
            self.problem(f"{where}/{field}", f"The field '{field}' must be a number from {lowest} to {limits.MAX_TIMER_SECONDS}")

    def _map_config(self, config: Any, where: str, language: QueryLanguage) -> None:
        """ItemReader, ItemBatcher or ResultWriter: objects whose settings the interpreter reads."""
        if not isinstance(config, Mapping):
            self.problem(where, "The field must be a JSON object")
            return
        if "Resource" in config and not isinstance(config["Resource"], str):
            self.problem(f"{where}/Resource", "The field 'Resource' must be a string")
        for field in ("ReaderConfig", "WriterConfig"):
            if field in config and not isinstance(config[field], Mapping):
                self.problem(f"{where}/{field}", f"The field '{field}' must be a JSON object")
        settings = [config, config.get("ReaderConfig")]
        for setting in (s for s in settings if isinstance(s, Mapping)):
            for key, value in setting.items():
                if key.endswith("Path"):
                    for issue in jsonpath.validate_path(value):
                        self.problem(f"{where}/{key}", issue)
        if language == "JSONPath":
            for field in ("Parameters", "BatchInput"):
                if field in config:
                    for issue in templates.validate_template(config[field], f"{where}/{field}"):
                        at, sep, message = issue.partition(": ")
                        self.problem(at if sep else f"{where}/{field}", message if sep else issue)

    def _choices(self, docs: Any, where: str, language: QueryLanguage) -> tuple[ChoiceRule | JsonataChoice, ...]:
        if not isinstance(docs, list) or not docs:
            self.problem(where, "Choice needs a non-empty Choices list")
            return ()
        rules: list[ChoiceRule | JsonataChoice] = []
        for i, rule in enumerate(docs):
            loc = f"{where}/{i}"
            if not isinstance(rule, Mapping) or "Next" not in rule:
                self.problem(loc, "A choice rule must be an object with 'Next'")
                continue
            if language == "JSONata":
                if "Condition" not in rule:
                    self.problem(loc, "A JSONata choice rule needs 'Condition'")
                    continue
                if not isinstance(rule["Next"], str):
                    self.problem(f"{loc}/Next", "The field 'Next' must be a state name")
                    continue
                if "Assign" in rule and not isinstance(rule["Assign"], Mapping):
                    self.problem(f"{loc}/Assign", "The field 'Assign' must be a JSON object")
                    continue
                rules.append(JsonataChoice(rule["Condition"], rule["Next"], _template(rule, "Assign"), _template(rule, "Output")))
                continue
            try:
                rules.append(choice_rules.parse_rule(rule, location=loc))
            except DefinitionError as exc:
                for issue in exc.issues:  # already "<location>: <problem>"
                    where, sep, message = issue.partition(": ")
                    self.problem(where if sep else loc, message if sep else issue)
        return tuple(rules)

    def _retry(self, docs: Any, where: str) -> tuple[Retrier, ...]:
        if not isinstance(docs, list):
            self.problem(where, "Retry must be a list")
            return ()
        out: list[Retrier] = []
        for i, r in enumerate(docs):
            loc = f"{where}/{i}"
            errors = self._error_equals(r, loc, last=i == len(docs) - 1)
            if errors is None:
                continue
            max_attempts = r.get("MaxAttempts", 3)
            interval = r.get("IntervalSeconds", 1)
            backoff = r.get("BackoffRate", 2.0)
            if not _int(max_attempts) or max_attempts < 0:
                self.problem(f"{loc}/MaxAttempts", "MaxAttempts must be a non-negative integer")
                continue
            if not _int(interval) or not 1 <= interval <= limits.MAX_TIMER_SECONDS:
                message = f"IntervalSeconds must be a positive integer no greater than {limits.MAX_TIMER_SECONDS}"
                self.problem(f"{loc}/IntervalSeconds", message)
                continue
            if not isinstance(backoff, int | float) or isinstance(backoff, bool) or backoff < 1:
                self.problem(f"{loc}/BackoffRate", "BackoffRate must be a number >= 1.0")
                continue
            jitter = r.get("JitterStrategy", "NONE")
            if jitter not in ("FULL", "NONE"):
                self.problem(f"{loc}/JitterStrategy", "JitterStrategy must be FULL or NONE")
                continue
            max_delay = r.get("MaxDelaySeconds")
            # AWS's error-handling guide: "greater than 0 and less than 31622401".
            if max_delay is not None and (not _int(max_delay) or not 0 < max_delay < 31_622_401):
                self.problem(f"{loc}/MaxDelaySeconds", "MaxDelaySeconds must be an integer greater than 0 and less than 31622401")
                continue
            out.append(
                Retrier(
                    error_equals=errors,
                    interval_s=float(interval),
                    max_attempts=int(max_attempts),
                    backoff_rate=float(backoff),
                    max_delay_s=float(max_delay) if max_delay is not None else None,
                    jitter=jitter,
                )
            )
        return tuple(out)

    def _catch(self, docs: Any, where: str, language: QueryLanguage) -> tuple[Catcher, ...]:
        if not isinstance(docs, list):
            self.problem(where, "Catch must be a list")
            return ()
        out: list[Catcher] = []
        for i, c in enumerate(docs):
            loc = f"{where}/{i}"
            errors = self._error_equals(c, loc, last=i == len(docs) - 1)
            if errors is None:
                continue
            if not isinstance(c.get("Next"), str):
                self.problem(f"{loc}/Next", "A catcher needs 'Next'")
                continue
            result_path = c.get("ResultPath", "$")
            if result_path is not None and (issues := jsonpath.validate_path(result_path, reference=True)):
                self.problem(f"{loc}/ResultPath", issues[0])
                continue
            assign = c.get("Assign")
            if assign is not None and not isinstance(assign, Mapping):
                self.problem(f"{loc}/Assign", "The field 'Assign' must be a JSON object")
                continue
            if assign is not None and language == "JSONPath" and (issues := templates.validate_template(assign, f"{loc}/Assign")):
                at, sep, message = issues[0].partition(": ")
                self.problem(at if sep else f"{loc}/Assign", message if sep else issues[0])
                continue
            out.append(
                Catcher(
                    error_equals=errors,
                    next=c["Next"],
                    result_path=_path(c, "ResultPath"),
                    output=_template(c, "Output"),
                    assign=_template(c, "Assign"),
                )
            )
        return tuple(out)

    def _error_equals(self, doc: Any, where: str, *, last: bool) -> tuple[str, ...] | None:
        if not isinstance(doc, Mapping):
            self.problem(where, "Retry and Catch entries must be objects")
            return None
        errors = doc.get("ErrorEquals")
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
            self.problem(f"{where}/ErrorEquals", "ErrorEquals must be a non-empty list of strings")
            return None
        if "States.ALL" in errors and (len(errors) > 1 or not last):
            self.problem(f"{where}/ErrorEquals", "States.ALL must appear alone, in the last retrier or catcher")
            return None
        return tuple(errors)


def _jsonata_strings(doc: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """Every ``{% %}`` string in a JSONata state's own fields (not in nested state machines)."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, at: str) -> None:
        if isinstance(value, str) and jsonata_lang.is_expression(value):
            found.append((at, value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{at}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{at}/{index}")

    for key, value in doc.items():
        if key not in ("ItemProcessor", "Iterator", "Branches"):
            walk(value, f"{where}/{key}")
    return found


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _template(doc: Mapping[str, Any], field: str) -> Template | None:
    return Template(doc[field]) if field in doc else None


def _path(doc: Mapping[str, Any], field: str) -> str | None:
    """An InputPath/OutputPath/ResultPath: ``$`` when absent, ``None`` when ``null``."""
    value = doc.get(field, "$")
    return value if isinstance(value, str) else None


def _setting(doc: Mapping[str, Any], name: str, *, prefer_path: bool = False) -> Setting | None:
    """``<name>`` or ``<name>Path`` (when both are given, the literal, or with ``prefer_path`` the path)."""
    path = doc.get(f"{name}Path")
    if name in doc and not (prefer_path and isinstance(path, str)):
        return Setting(name, value=doc[name])
    if isinstance(path, str):
        return Setting(name, path=path)
    return None


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _item_reader(doc: Any) -> ItemReader | None:
    if not isinstance(doc, Mapping):
        return None
    config = _object(doc.get("ReaderConfig"))
    return ItemReader(
        resource=str(doc.get("Resource", "")),
        parameters=_template(doc, "Parameters"),
        arguments=_template(doc, "Arguments"),
        reader_config=config,
        max_items=_setting(config, "MaxItems"),
    )


def _item_batcher(doc: Any) -> ItemBatcher | None:
    if not isinstance(doc, Mapping):
        return None
    return ItemBatcher(
        max_items_per_batch=_setting(doc, "MaxItemsPerBatch"),
        max_input_bytes_per_batch=_setting(doc, "MaxInputBytesPerBatch"),
        batch_input=_template(doc, "BatchInput"),
    )


def _result_writer(doc: Any) -> ResultWriter | None:
    if not isinstance(doc, Mapping):
        return None
    return ResultWriter(
        resource=str(doc.get("Resource", "")),
        parameters=_template(doc, "Parameters"),
        arguments=_template(doc, "Arguments"),
        writer_config=_object(doc.get("WriterConfig")),
    )
