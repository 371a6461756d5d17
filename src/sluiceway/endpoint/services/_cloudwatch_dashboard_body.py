"""What PutDashboard checks of a DashboardBody: a JSON object with a ``widgets`` array of widgets.

CloudWatch validates the body against a JSON schema and words its findings as the schema
validator does (``Should have required property 'widgets'``, ``Should be array``, each with the
JSON pointer of the value, its ``dataPath``). Errors refuse the body; warnings (a widget key
CloudWatch does not know, which it ignores) come back in PutDashboard's
DashboardValidationMessages. Only the overall structure and the widget grid are checked here;
what a widget's ``properties`` hold is for the console that renders it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MAX_WIDGETS", "BodyCheck", "Finding", "check_body"]

MAX_WIDGETS: Final = 500
"""Widgets on one dashboard."""
_WIDGET_KEYS: Final = frozenset({"type", "x", "y", "width", "height", "properties"})
_GRID: Final = {"x": (0, 23), "y": (0, None), "width": (1, 24), "height": (1, 1000)}
"""A widget's place and size on the grid (24 units wide): the least and greatest values."""


@dataclass(frozen=True)
class Finding:
    data_path: str
    """A JSON pointer to the value (``/widgets/0/width``); ``""`` is the body itself."""
    message: str


@dataclass(frozen=True)
class BodyCheck:
    document: dict[str, Any] | None
    """The parsed body; None when it is not a JSON object (nothing else was checked then)."""
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()


def check_body(body: str) -> BodyCheck:
    try:
        # A lone surrogate is no character (UTF-8 cannot carry it): such a body is not JSON text.
        body.encode()
        document = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError: JSONDecodeError, UnicodeEncodeError, a number of more than 4300 digits;
        # RecursionError: arrays or objects nested deeper than the parser goes.
        document = None
    if not isinstance(document, dict):
        return BodyCheck(None)
    errors: list[Finding] = []
    warnings: list[Finding] = []
    if "widgets" not in document:
        errors.append(Finding("", "Should have required property 'widgets'"))
    elif not isinstance(document["widgets"], list):
        errors.append(Finding("/widgets", "Should be array"))
    else:
        widgets = document["widgets"]
        if len(widgets) > MAX_WIDGETS:
            errors.append(Finding("/widgets", f"Should NOT have more than {MAX_WIDGETS} items"))
        for index, widget in enumerate(widgets):
            _check_widget(f"/widgets/{index}", widget, errors, warnings)
    return BodyCheck(document, tuple(errors), tuple(warnings))


def _check_widget(path: str, widget: Any, errors: list[Finding], warnings: list[Finding]) -> None:
    if not isinstance(widget, dict):
        errors.append(Finding(path, "Should be object"))
        return
    for key in ("type", "properties"):
        if key not in widget:
            errors.append(Finding(path, f"Should have required property '{key}'"))
    if "type" in widget and not isinstance(widget["type"], str):
        errors.append(Finding(f"{path}/type", "Should be string"))
    if "properties" in widget and not isinstance(widget["properties"], dict):
        errors.append(Finding(f"{path}/properties", "Should be object"))
    for key, (least, greatest) in _GRID.items():
        if key not in widget:
            continue  # CloudWatch places and sizes a widget that does not say (6 x 6, next free spot)
        value = widget[key]
        if not _integer(value):
            errors.append(Finding(f"{path}/{key}", "Should be integer"))
        elif value < least:
            errors.append(Finding(f"{path}/{key}", f"Should be >= {least}"))
        elif greatest is not None and value > greatest:
            errors.append(Finding(f"{path}/{key}", f"Should be <= {greatest}"))
    for key in sorted(set(widget) - _WIDGET_KEYS):
        warnings.append(Finding(path, f'The "{key}" property is not expected to be part of a widget definition, will be ignored'))


def _integer(value: Any) -> bool:
    # JSON has one number type: 6.0 is the integer 6 to CloudWatch's (JavaScript) validator.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
