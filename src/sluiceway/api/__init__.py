"""Sluiceway's management API: executions, objects, queues, topics, rules, alarms and users over HTTP.

One FastAPI app (:func:`sluiceway.api.app.create_app`) that reaches AWS only through
:class:`sluiceway.api.aws.Aws`, so the same code serves ``/_sluiceway/api`` on the local
endpoint (in-process calls, :mod:`sluiceway.endpoint.management_api`) and runs on AWS as a Lambda behind an
HttpApi with a Cognito JWT authorizer (:mod:`sluiceway.api.lambda_handler`, through Mangum).

Nothing is imported here: the Lambda's cold start pays only for what its handler imports.
"""
