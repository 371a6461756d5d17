"""``cfnresponse``: what CloudFormation puts next to a custom resource's inline Python code.

CloudFormation gives inline (``ZipFile``/``InlineCode``) Python functions a module of this name
so that a custom resource's handler can answer with one call::

    import cfnresponse
    def handler(event, context):
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Answer": 42})

Sluiceway writes this file as ``cfnresponse.py`` beside ``index.py`` (see :mod:`.code`); it is
never imported by Sluiceway itself. It has the documented interface: ``SUCCESS``, ``FAILED`` and
``send(event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False,
reason=None)``, which PUTs the response document to the request's ``ResponseURL`` and, like
AWS's module, prints what it sends and never raises.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

SUCCESS = "SUCCESS"
FAILED = "FAILED"


def send(
    event: dict[str, Any],
    context: Any,
    responseStatus: str,  # noqa: N803 - the documented keyword names
    responseData: dict[str, Any] | None,  # noqa: N803
    physicalResourceId: str | None = None,  # noqa: N803
    noEcho: bool = False,  # noqa: N803
    reason: str | None = None,
) -> None:
    """Answer CloudFormation's custom resource request ``event``."""
    stream = getattr(context, "log_stream_name", "")
    body = json.dumps(
        {
            "Status": responseStatus,
            "Reason": reason or f"See the details in CloudWatch Log Stream: {stream}",
            "PhysicalResourceId": physicalResourceId or stream,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": noEcho,
            "Data": responseData,
        }
    ).encode()
    print("Response body:")
    print(body.decode())
    # An empty content type: the presigned S3 URL CloudFormation hands out is signed without one.
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"Status code: {response.status}")
    except Exception as exc:
        print(f"send(..) failed executing request: {exc}")
