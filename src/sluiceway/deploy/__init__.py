"""Sluiceway on AWS: the SAM template, the Lambda bundle, the deploy, and a cost estimate.

* :mod:`.template` builds the SAM template from the pipeline config and the settings,
  with the functions of :mod:`.lambdas` and the permissions of :mod:`.policies`;
* :mod:`.package` builds the Lambda bundle for the Lambda platform;
* :mod:`.sam` checks what a deploy needs and runs the SAM CLI;
* :mod:`.cost` estimates the monthly bill from the runs recorded locally
  (counted by :mod:`.usage`, priced with a table read by :mod:`.prices`).

Nothing here runs inside Lambda (the bundle leaves this package out).
"""

from __future__ import annotations

from .errors import DeployError

__all__ = ["DeployError"]
