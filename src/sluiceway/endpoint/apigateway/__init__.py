"""API Gateway served locally: the REST and HTTP APIs of a SAM template, with AWS's events and answers.

:func:`apis_from_resources` reads the APIs from a transformed, resolved template;
:class:`ApiGateway` (``endpoint.apis``) serves them under ``/_sluiceway/apis/<apiId>``
(:func:`local_base_url`), each route's authorizer checked first (:mod:`.authorizers`, failing closed)
and a REST method's request validator next (:mod:`.validation`).
"""

from __future__ import annotations

from .gateway import ApiGateway, local_base_url
from .key_source import KeySource
from .model import Api, Authorizer, Cors, Guard, Integration, RequestValidation, Route, Stage
from .resources import apis_from_resources

__all__ = [
    "Api", "ApiGateway", "Authorizer", "Cors", "Guard", "Integration", "KeySource", "RequestValidation", "Route", "Stage",
    "apis_from_resources", "local_base_url",
]  # fmt: skip
