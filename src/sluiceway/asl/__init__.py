"""The Amazon States Language engine: parse once into frozen objects, step purely.

``parser.parse(doc) -> StateMachine`` (typed per-state specs, :mod:`.model`);
``interpreter.start/step`` turn an execution state and one event into the next
state, the commands to carry out (:mod:`.commands`: invoke a task, start a timer)
and AWS-shaped history events. The interpreter is a core (:mod:`.core`) and one
module per state type (:mod:`.states`). JSONPath itself is :mod:`sluiceway.jsonpath`,
shared with EventBridge; payload templates are :mod:`.templates`, ResultPath and
friends :mod:`.dataflow`.

Nothing here does I/O or reads the clock: the runtime passes ``now`` in and
persists the result. The one exception is the regular expressions (:mod:`sluiceway.regexes`),
whose matches stop after a wall-clock limit so that a catastrophically backtracking
pattern fails instead of hanging.
"""
