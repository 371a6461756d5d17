"""Lambda function URLs served locally: ``https://<url-id>.lambda-url.<region>.on.aws/`` under the endpoint.

:class:`FunctionUrls` serves the URLs made through Lambda's API (``services/_lambda_urls.py``) and
templates (``AWS::Lambda::Url``) under ``/_sluiceway/lambda-urls/<url-id>/`` (:func:`local_function_url`),
with Lambda's 2.0 event (:mod:`.events`) and its reading of the function's answer (:mod:`.responses`).
"""

from __future__ import annotations

from .serving import PREFIX, FunctionUrls, local_function_url

__all__ = ["PREFIX", "FunctionUrls", "local_function_url"]
