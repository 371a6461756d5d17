"""SigV4 checks: a request signed with a configured access key, as AWS checks it.

Only when the endpoint is bound beyond the loopback or started with ``--require-auth``
(an unsigned local laptop endpoint is what every AWS emulator serves). Presigned URLs
expire whatever the mode: a client that relies on expiry must see it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import posixpath
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote

from .context import HttpRequest
from .errors import AwsError

__all__ = ["check_expiry", "verify"]

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<headers>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
#: AWS allows 15 minutes of clock skew between a signed request and its own clock.
MAX_SKEW = timedelta(minutes=15)
#: A presigned URL lives at most seven days (X-Amz-Expires up to 604800).
MAX_EXPIRES_S = 604800


#: How each family of services words the same refusal. S3 has its own codes; the query
#: services (and SQS, which keeps its query codes on JSON) answer 403 with the IAM-style
#: codes; the JSON services answer 400 with ``...Exception`` codes (DynamoDB, EventBridge,
#: Step Functions, CloudWatch Logs); the REST-JSON ones (Lambda, Scheduler) the same codes with 403.
_FAMILY_CODES: dict[str, dict[str, str]] = {
    "query": {
        "missing": "MissingAuthenticationToken",
        "unknown-key": "InvalidClientTokenId",
        "bad-signature": "SignatureDoesNotMatch",
        "incomplete": "IncompleteSignature",
        "skewed": "SignatureDoesNotMatch",
    },
    "json": {
        "missing": "MissingAuthenticationTokenException",
        "unknown-key": "UnrecognizedClientException",
        "bad-signature": "InvalidSignatureException",
        "incomplete": "IncompleteSignatureException",
        "skewed": "InvalidSignatureException",
    },
    "s3": {
        "missing": "AccessDenied",
        "unknown-key": "InvalidAccessKeyId",
        "bad-signature": "SignatureDoesNotMatch",
        "incomplete": "AuthorizationHeaderMalformed",
        "skewed": "RequestTimeTooSkewed",
    },
}
_FAMILIES = {"s3": "s3", "sqs": "query", "sns": "query", "sts": "query"}
_STATUS = {"dynamodb": 400, "events": 400, "stepfunctions": 400, "logs": 400}


def _denied(service: str, kind: str, message: str) -> AwsError:
    """A refused request, worded as ``service`` words it (``kind``: missing, unknown-key, ...)."""
    family = _FAMILIES.get(service, "json")
    code = _FAMILY_CODES[family].get(kind, kind)
    return AwsError(code, message, _STATUS.get(service, 403))


def check_expiry(request: HttpRequest, service: str, now: datetime | None = None) -> None:
    """Refuse an expired presigned URL (403 AccessDenied "Request has expired", as S3).

    SigV2 URLs (``AWSAccessKeyId``, ``Signature``, ``Expires``) too: botocore still presigns
    S3 URLs with SigV2 for a custom endpoint unless told ``signature_version="s3v4"``.
    """
    if "Expires=" in request.query and "X-Amz-Expires=" not in request.query:
        v2 = dict(parse_qsl(request.query, keep_blank_values=True))
        if "Signature" in v2 and "Expires" in v2:
            try:
                expires_at = datetime.fromtimestamp(int(v2["Expires"]), UTC)
            except (ValueError, OverflowError) as exc:
                raise AwsError("AccessDenied", "Invalid date (should be seconds since epoch)", 403) from exc
            if (now or datetime.now(UTC)) > expires_at:
                raise AwsError("AccessDenied", "Request has expired", 403)
        return
    if "X-Amz-Expires=" not in request.query:
        return
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    try:
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"])
    except (KeyError, ValueError) as exc:
        raise AwsError("AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires must be given and valid", 400) from exc
    if not 1 <= expires <= MAX_EXPIRES_S:
        raise AwsError(
            "AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400
        )
    if (now or datetime.now(UTC)) > signed_at + timedelta(seconds=expires):
        raise AwsError("AccessDenied", "Request has expired", 403)


def verify(request: HttpRequest, service: str, secrets: Mapping[str, str], now: datetime | None = None) -> str:
    """Check the request's SigV4 signature; return the access key id it was signed with.

    Raises:
        AwsError: 403 with AWS's code: no signature, an unknown key, a stale date or a
            signature that does not match.
    """
    now = now or datetime.now(UTC)
    if service == "s3" and "Signature=" in request.query and "AWSAccessKeyId=" in request.query:
        return _verify_v2_query(request, secrets, now)
    presigned = "X-Amz-Signature=" in request.query
    if presigned:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        credential, signed_headers, signature = (
            query.get("X-Amz-Credential", ""),
            query.get("X-Amz-SignedHeaders", ""),
            query.get("X-Amz-Signature", ""),
        )
        amz_date = query.get("X-Amz-Date", "")
    else:
        found = _AUTH.match(request.header("authorization") or "")
        if not found:
            if request.header("authorization"):
                raise _denied(service, "incomplete", "The request signature does not conform to AWS standards")
            raise _denied(service, "missing", "Request is missing Authentication Token")
        credential, signed_headers, signature = found["credential"], found["headers"], found["signature"]
        amz_date = request.header("x-amz-date") or ""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise _denied(service, "incomplete", f"Credential should be scoped correctly: {credential}")
    access_key, day, region, signing_name, _ = parts
    secret = secrets.get(access_key)
    if secret is None:
        raise _denied(service, "unknown-key", "The security token included in the request is invalid.")
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise _denied(service, "incomplete", "Date must be in ISO-8601 'basic format'") from exc
    if presigned:
        check_expiry(request, service, now)
    elif abs(now - when) > MAX_SKEW:
        raise _denied(service, "skewed", "Signature expired: the difference between the request time and the current time is too large.")
    canonical = _canonical_request(request, signed_headers.split(";"), service, presigned)
    scope = f"{day}/{region}/{signing_name}/aws4_request"
    to_sign = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _signing_key(secret, day, region, signing_name)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise _denied(
            service,
            "bad-signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    return access_key


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _canonical_request(request: HttpRequest, signed: list[str], service: str, presigned: bool) -> str:
    # S3 signs the path as sent (encoded once); every other service encodes the sent path
    # again, after removing dot segments (AWS's SigV4 rules; botocore's auth.py does the same).
    path = request.path or "/"
    canonical_path = path if service == "s3" else quote(_remove_dots(path), safe="/~")
    pairs = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if not (presigned and k == "X-Amz-Signature")]
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))
    headers = "".join(f"{name}:{' '.join((request.header(name) or '').split())}\n" for name in signed)
    payload = "UNSIGNED-PAYLOAD" if presigned else request.header("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    return "\n".join((request.method, canonical_path, query, headers, ";".join(signed), payload))


def _remove_dots(path: str) -> str:
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized.replace("//", "/")


#: S3's sub-resources: the query parameters a SigV2 signature covers.
_V2_SUBRESOURCES = frozenset(
    {
        "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
        "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore", "tagging", "torrent",
        "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    }
)


def _verify_v2_query(request: HttpRequest, secrets: Mapping[str, str], now: datetime) -> str:
    """A SigV2 presigned S3 URL: HMAC-SHA1 over method, Content-MD5, Content-Type, Expires and resource."""
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    access_key = query.get("AWSAccessKeyId", "")
    secret = secrets.get(access_key)
    if secret is None:
        raise _denied("s3", "unknown-key", "The AWS Access Key Id you provided does not exist in our records.")
    check_expiry(request, "s3", now)
    sub = sorted((k, v) for k, v in query.items() if k in _V2_SUBRESOURCES)
    resource = request.path + ("?" + "&".join(f"{k}={v}" if v else k for k, v in sub) if sub else "")
    amz = sorted((k, v.strip()) for k, v in request.headers.items() if k.startswith("x-amz-"))
    to_sign = "\n".join(
        (
            request.method,
            request.header("content-md5") or "",
            request.header("content-type") or "",
            query.get("Expires", ""),
            *(f"{k}:{v}" for k, v in amz),
            resource,
        )
    )
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, query.get("Signature", "")):
        raise _denied(
            "s3",
            "bad-signature",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    return access_key
