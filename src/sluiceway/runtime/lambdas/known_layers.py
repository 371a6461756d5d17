"""Public layers a template names by ARN that can be had locally: Powertools for AWS Lambda (Python).

A layer given by ARN lives in another account and cannot be downloaded here. The public
Powertools layer (``arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:N``
and its older and other-architecture names) is the ``aws-lambda-powertools`` package and its
extras, which are pip packages: when the package is installed where Sluiceway runs, a function's
workers already import it, because they start from Sluiceway's own ``sys.path`` after the
function's code and requirements, just as Lambda puts ``/opt/python`` after ``/var/task``. So the
layer resolves to no folder of its own (putting the whole ``site-packages`` in a layer's place
would shadow the standard library) and to a note when something is missing:

* the package is not installed: the function's ``import aws_lambda_powertools`` fails unless its
  ``requirements.txt`` lists it;
* ``aws-xray-sdk`` is not installed: the layer bundles it, and ``Tracer()`` imports it even
  when tracing is off;
* the installed major version differs from the layer's (``V2`` in the name, 3.x installed).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["POWERTOOLS_ACCOUNTS", "KnownLayer", "installed", "resolve"]

POWERTOOLS_ACCOUNTS = frozenset({"017000801446", "498634801083"})
"""The accounts publishing the Powertools for AWS Lambda (Python) layers: the commercial regions', China's."""

_POWERTOOLS = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:(?P<account>\d{12}):layer:"
    r"(?P<name>AWSLambdaPowertoolsPython(?:V(?P<major>\d+))?(?:-[A-Za-z0-9_]+)*):(?P<version>\d+)$"
)
_INSTALL = "pip install 'aws-lambda-powertools[tracer]'"


@dataclass(frozen=True)
class KnownLayer:
    """What a public layer ARN stands for here."""

    arn: str
    title: str
    """What the layer is, for messages: ``Powertools for AWS Lambda (Python) v3``."""
    paths: tuple[str, ...]
    """Folders to put on the function's path in the layer's place (none: it is on the runtime's path)."""
    note: str | None
    """What will not work locally and how to fix it; None when the layer is fully served."""


def installed(module: str, distribution: str) -> str | None:
    """The installed version of ``distribution`` when its top-level ``module`` is importable (without importing it); else None.

    ``"unknown"`` for a module importable from a folder on ``sys.path`` that pip did not install.
    """
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def resolve(arn: str, *, versions: Callable[[str, str], str | None] = installed) -> KnownLayer | None:
    """What the public layer ``arn`` is locally; None when it is not one Sluiceway knows.

    Args:
        arn: a layer version ARN from a function's ``Layers``.
        versions: :func:`installed`, or a stand-in for it.

    Example:
        >>> layer = resolve("arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27")
        >>> layer is not None and layer.title
        'Powertools for AWS Lambda (Python) v3'
    """
    found = _POWERTOOLS.match(arn)
    if found is None or found["account"] not in POWERTOOLS_ACCOUNTS:
        return None
    major = int(found["major"] or 1)
    title = f"Powertools for AWS Lambda (Python) v{major}"
    return KnownLayer(arn, title, (), _powertools_note(found["name"], major, versions))


def _powertools_note(name: str, major: int, versions: Callable[[str, str], str | None]) -> str | None:
    powertools = versions("aws_lambda_powertools", "aws-lambda-powertools")
    if powertools is None:
        return (
            f"layer {name} is not installed locally: the function's imports of aws_lambda_powertools fail"
            f" unless its requirements.txt lists aws-lambda-powertools, or you run {_INSTALL} where Sluiceway runs"
        )
    problems = []
    if powertools != "unknown" and powertools.split(".")[0] != str(major):
        problems.append(f"aws-lambda-powertools {powertools} is installed here, not v{major} as the layer {name} holds")
    if versions("aws_xray_sdk", "aws-xray-sdk") is None:
        problems.append(f"aws-xray-sdk, which the layer {name} bundles, is not installed: Tracer() fails to import ({_INSTALL})")
    return "; ".join(problems) or None
