"""Errors of the AWS deployment tools (template, package, deploy, cost).

::

    SluicewayError
    └── DeployError        something the deploy path needs is missing or failed; the message says what to do
"""

from __future__ import annotations

from ..errors import SluicewayError

__all__ = ["DeployError"]


class DeployError(SluicewayError):
    """A deployment step cannot go on: a missing tool, credentials, network, or a failed command.

    The message names what is missing and how to provide it.
    """
