"""DynamoDB's PartiQL: a parser for its statements and their translation into the native item operations."""

from __future__ import annotations

from .nodes import Delete, Insert, Select, Statement, Update
from .parser import MALFORMED, parse_statement
from .plans import NO_KEY, Plan, check_parameters, plan_statement
from .render import Placeholders, bind

__all__ = [
    "MALFORMED",
    "NO_KEY",
    "Delete",
    "Insert",
    "Placeholders",
    "Plan",
    "Select",
    "Statement",
    "Update",
    "bind",
    "check_parameters",
    "parse_statement",
    "plan_statement",
]
