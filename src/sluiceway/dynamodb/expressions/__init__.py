"""DynamoDB's expression language: tokens, a recursive-descent parser, placeholder binding and evaluation."""

from __future__ import annotations

from .bindings import Bindings, render_path
from .conditions import holds
from .keyconditions import KeyRange, key_range
from .projection import project
from .updates import apply_update, updated_paths

__all__ = ["Bindings", "KeyRange", "apply_update", "holds", "key_range", "project", "render_path", "updated_paths"]
