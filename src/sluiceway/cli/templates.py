"""``sluiceway up --template``: a SAM or CloudFormation template made into a stack on the running local stack."""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from ._common import console, err_console, fail, shown

if TYPE_CHECKING:
    from ..endpoint.server import Endpoint

logger = logging.getLogger(__name__)

__all__ = ["overrides_from", "run_template", "stack_name_for", "workers_for"]

_MAX_WORKERS = 16

_LONG_FORM = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)")


def overrides_from(values: list[str]) -> dict[str, str]:
    """``--parameter-overrides`` as ``sam deploy`` reads them: ``K=V`` pairs (several per option, shell-quoted) or
    ``ParameterKey=K,ParameterValue=V``."""
    overrides: dict[str, str] = {}
    for value in values:
        for item in shlex.split(value):
            long_form = _LONG_FORM.fullmatch(item)
            if long_form:
                overrides[long_form.group(1)] = long_form.group(2)
                continue
            key, sep, text = item.partition("=")
            if not sep or not key:
                fail(f"--parameter-overrides: {item!r} is not KEY=VALUE")
            overrides[key] = text
    return overrides


def workers_for(template: Path, configured: int) -> int:
    """Worker processes for a template's functions: one per function (each keeps its own warm
    environment, as on Lambda), at least the configured number, at most 16."""
    try:
        text = template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return configured  # the template's own error is reported when it is read
    functions = len(re.findall(r"['\"]?Type['\"]?\s*:\s*['\"]?AWS::(?:Serverless|Lambda)::Function['\"\s]", text))
    return max(configured, min(functions, _MAX_WORKERS))


def stack_name_for(template: Path) -> str:
    """The default stack name: the template's folder name, made a valid stack name."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", template.resolve().parent.name).strip("-")
    if not name or not name[0].isalpha():
        name = f"app-{name}" if name else "sluiceway-app"
    return name[:128]


def run_template(endpoint: Endpoint, template: Path, stack_name: str, overrides: dict[str, str]) -> bool:
    """Make (or update) the stack; print what was not emulated and the outputs. False when it failed."""
    from ..cfn.deployer import deploy
    from ..cfn.errors import TemplateError

    settings = endpoint.stack.settings

    def warn(message: str) -> None:
        err_console.print(Text.assemble(("note: ", "yellow"), shown(message)), highlight=False)

    try:
        deployment = deploy(endpoint, template, stack_name, overrides, cache_dir=settings.data_dir / "lambda-code", warn=warn)
    except Exception as exc:  # a template's problem is said in one line, never as a traceback
        if not isinstance(exc, TemplateError):
            logger.debug("the template could not be made", exc_info=True)
        record = endpoint.stack.local.stacks.get(stack_name) or {}
        status = str(record.get("StackStatus") or "CREATE_FAILED")
        reason = str(exc) if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
        err_console.print(Text.assemble((f"{status} ", "red"), shown(f"{stack_name}: {reason}")), highlight=False)
        return False
    endpoint.starting = None
    status = deployment.document["StackStatus"]
    resources = len(deployment.document["Resources"])
    console.print(Text.assemble((status, "green"), shown(f" {stack_name} ({resources} resources) from {template}")), highlight=False)
    for key, value in deployment.outputs.items():
        console.print(Text.assemble("  ", (key, "bold"), ": ", shown(value)), highlight=False)
    console.print("Ctrl-C stops.")
    return True
