"""AWS Step Functions Local's MockConfigFile: mocked task results per test case.

::

    {"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<state>": "<mocked response>"}}}},
     "MockedResponses": {"<mocked response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}

Invocation numbers count the calls of that state from 0; a key ``"1-2"`` covers
calls 1 and 2. A state the test case does not name runs for real.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..types import JSON

__all__ = ["MockConfig", "MockedCall", "TestCaseMocks"]


@dataclass(frozen=True)
class MockedCall:
    """One mocked outcome: a result to return, or an error to throw."""

    returns: JSON = None
    error: str | None = None
    cause: str | None = None

    @property
    def throws(self) -> bool:
        return self.error is not None


class TestCaseMocks:
    """The mocked responses of one test case, answering calls in order (thread-safe)."""

    __test__ = False  # not a pytest test class

    def __init__(self, responses: Mapping[str, Mapping[int, MockedCall]]) -> None:
        self.responses = responses
        self._calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def mocks(self, state_name: str) -> bool:
        return state_name in self.responses

    def next_call(self, state_name: str) -> MockedCall:
        """The mocked outcome of this state's next call.

        Raises:
            ConfigError: the state's mocked response has no entry for this call number.
        """
        with self._lock:
            number = self._calls[state_name]
            self._calls[state_name] += 1
        table = self.responses[state_name]
        if number not in table:
            raise ConfigError(f"mocked response for state {state_name!r} has no entry for invocation {number}")
        return table[number]


class MockConfig:
    """A parsed MockConfigFile."""

    def __init__(self, doc: Mapping[str, Any], *, source: str = "mock config") -> None:
        self.source = source
        problems: list[str] = []
        machines = doc.get("StateMachines")
        responses = doc.get("MockedResponses")
        if not isinstance(machines, Mapping):
            problems.append("StateMachines: must be an object")
            machines = {}
        if not isinstance(responses, Mapping):
            problems.append("MockedResponses: must be an object")
            responses = {}
        self._responses: dict[str, dict[int, MockedCall]] = {}
        for name, table in responses.items():
            self._responses[name] = self._table(name, table, problems)
        self._cases: dict[str, dict[str, dict[str, str]]] = {}
        for machine, body in machines.items():
            cases = body.get("TestCases") if isinstance(body, Mapping) else None
            if not isinstance(cases, Mapping):
                problems.append(f"StateMachines.{machine}.TestCases: must be an object")
                continue
            for case, states in cases.items():
                if not isinstance(states, Mapping):
                    problems.append(f"StateMachines.{machine}.TestCases.{case}: must map state names to mocked responses")
                    continue
                for state, response in states.items():
                    if response not in self._responses:
                        problems.append(f"StateMachines.{machine}.TestCases.{case}.{state}: no mocked response named {response!r}")
                self._cases.setdefault(machine, {})[case] = dict(states)
        if problems:
            raise ConfigError(f"{source}: " + "; ".join(problems))

    @staticmethod
    def _table(name: str, table: Any, problems: list[str]) -> dict[int, MockedCall]:
        out: dict[int, MockedCall] = {}
        if not isinstance(table, Mapping):
            problems.append(f"MockedResponses.{name}: must be an object")
            return out
        for key, entry in table.items():
            where = f"MockedResponses.{name}.{key}"
            try:
                first, _, last = str(key).partition("-")
                numbers = range(int(first), int(last or first) + 1)
            except ValueError:
                problems.append(f"{where}: invocation keys are numbers or ranges like '1-2'")
                continue
            if not isinstance(entry, Mapping) or ("Return" in entry) == ("Throw" in entry):
                problems.append(f"{where}: needs exactly one of Return or Throw")
                continue
            if "Return" in entry:
                call = MockedCall(returns=entry["Return"])
            else:
                throw = entry["Throw"]
                if not isinstance(throw, Mapping) or not isinstance(throw.get("Error"), str):
                    problems.append(f"{where}.Throw: needs an Error string")
                    continue
                cause = throw.get("Cause")
                call = MockedCall(error=throw["Error"], cause=None if cause is None else str(cause))
            for number in numbers:
                out[number] = call
        return out

    def test_case(self, state_machine: str, case: str) -> TestCaseMocks:
        """The mocks of ``case`` for ``state_machine``.

        Raises:
            ConfigError: no such state machine or test case in the file.
        """
        cases = self._cases.get(state_machine)
        if cases is None:
            known = ", ".join(sorted(self._cases)) or "none"
            raise ConfigError(f"{self.source}: no state machine {state_machine!r} (known: {known})")
        states = cases.get(case)
        if states is None:
            raise ConfigError(f"{self.source}: state machine {state_machine!r} has no test case {case!r}")
        return TestCaseMocks({state: self._responses[response] for state, response in states.items()})
