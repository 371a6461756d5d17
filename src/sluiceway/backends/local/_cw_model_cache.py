"""The anomaly detection models trained lately, kept so that a band is not trained again each time it is read.

An alarm on a band is evaluated every few seconds and a dashboard reads its band every minute, but
a model only changes at its training end (each hour) or when data arrive in its training window
(``_cw_queries`` makes both part of the key). A bounded least-recently-used map: the models of
every band alarm and of the ranges being looked at stay, the rest drop out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Final

from ._cw_anomaly_model import Model

__all__ = ["MAX_MODELS", "ModelCache"]

MAX_MODELS: Final = 1024
"""Models kept: a few hundred band alarms' current and previous hour, and a range's trainings."""


class ModelCache:
    """Trained models (None for a model that has too few values yet) by key; thread-safe."""

    def __init__(self, size: int = MAX_MODELS) -> None:
        self.size = size
        self._models: OrderedDict[Hashable, Model | None] = OrderedDict()
        self._lock = threading.Lock()
        self.trainings = 0
        """Models put since the cache was made (how often a band was trained rather than found)."""

    def get(self, key: Hashable) -> tuple[bool, Model | None]:
        """Whether the key is cached, and its model."""
        with self._lock:
            if key not in self._models:
                return False, None
            self._models.move_to_end(key)
            return True, self._models[key]

    def put(self, key: Hashable, model: Model | None) -> None:
        with self._lock:
            self.trainings += 1
            self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
