"""The Amazon States Language engine: parse once into frozen objects, step purely.

``parser.parse(doc) -> StateMachine``; ``interpreter.start/step`` turn an
execution state and one event into the next state, the commands to carry out
(invoke a task, start a timer) and AWS-shaped history events. Nothing here does
I/O or reads the clock: the runtime passes ``now`` in and persists the result.
The one exception is :mod:`regexes`, whose matches stop after a wall-clock limit
so that a catastrophically backtracking pattern fails instead of hanging.
"""
