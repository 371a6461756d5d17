"""API Gateway served locally: the REST and HTTP APIs of a SAM template, with AWS's events and answers.

:func:`apis_from_resources` reads the APIs from a transformed, resolved template;
:class:`ApiGateway` (``endpoint.apis``) serves them under ``/_sluiceway/apis/<apiId>``
(:func:`local_base_url`).
"""

from __future__ import annotations

from .gateway import ApiGateway, local_base_url
from .model import Api, Cors, Guard, Integration, Route, Stage
from .resources import apis_from_resources

__all__ = ["Api", "ApiGateway", "Cors", "Guard", "Integration", "Route", "Stage", "apis_from_resources", "local_base_url"]
