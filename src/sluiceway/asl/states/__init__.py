"""What each state type does, one module per type, behind :class:`~sluiceway.asl.core.StateType`.

* :mod:`.flow`: Pass, Choice, Succeed, Fail
* :mod:`.wait`: Wait
* :mod:`.task`: Task
* :mod:`.parallel`: Parallel
* :mod:`.map`: Map (inline and distributed)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..core import StateType
from ..model import ChoiceState, FailState, MapState, ParallelState, PassState, State, SucceedState, TaskState, WaitState
from .flow import ChoiceType, FailType, PassType, SucceedType
from .map import MapType
from .parallel import ParallelType
from .task import TaskType
from .wait import WaitType

__all__ = ["STATE_TYPES"]

STATE_TYPES: Final[Mapping[type[State], StateType[Any]]] = {
    PassState: PassType(),
    ChoiceState: ChoiceType(),
    SucceedState: SucceedType(),
    FailState: FailType(),
    WaitState: WaitType(),
    TaskState: TaskType(),
    ParallelState: ParallelType(),
    MapState: MapType(),
}
"""The implementation of each state class, for :class:`~sluiceway.asl.core.Run`."""
