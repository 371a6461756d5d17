"""What goes wrong with a template, said with the file and the place in it."""

from __future__ import annotations

from ..errors import SluicewayError

__all__ = ["TemplateError"]


class TemplateError(SluicewayError):
    """A template that cannot be read, transformed, resolved or created, with where and why."""
