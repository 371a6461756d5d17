"""Request compression: a JSON or query body that an SDK gzipped (``Content-Encoding: gzip``).

botocore compresses the bodies of operations whose model has ``requestcompression``
(CloudWatch's PutMetricData, from 10 KiB) and says so in ``Content-Encoding``. S3 is not
concerned: there the encoding describes the object, which is stored as sent.
"""

from __future__ import annotations

import zlib

from .context import HttpRequest
from .errors import AwsError

__all__ = ["MAX_INFLATED", "inflate_body"]

MAX_INFLATED = 10 * 1024 * 1024
"""The most a compressed body may inflate to (a gzip bomb stops here)."""


def inflate_body(request: HttpRequest, service: str, *, limit: int = MAX_INFLATED) -> HttpRequest:
    """``request`` with a gzip body inflated and ``gzip`` dropped from its Content-Encoding (S3's left as sent).

    Raises:
        AwsError: a body that is not gzip, or inflates past ``limit``.
    """
    encodings = [e.strip() for e in request.headers.get("content-encoding", "").split(",") if e.strip()]
    if service == "s3" or not any(e.lower() == "gzip" for e in encodings):
        return request
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(request.body, limit + 1)
    except zlib.error:
        raise AwsError("SerializationException", "The request body is not valid gzip data", 400) from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise AwsError("RequestEntityTooLarge", f"Request must be smaller than {limit} bytes once decompressed", 413)
    if not inflater.eof or inflater.unused_data:
        # A stream cut short, or bytes after its member: what was sent is not what the client meant.
        raise AwsError("SerializationException", "The request body is not valid gzip data", 400)
    headers = dict(request.headers)
    rest = [e for e in encodings if e.lower() != "gzip"]
    if rest:
        headers["content-encoding"] = ",".join(rest)
    else:
        headers.pop("content-encoding", None)
    headers["content-length"] = str(len(body))
    return HttpRequest(request.method, request.path, request.query, headers, body)
