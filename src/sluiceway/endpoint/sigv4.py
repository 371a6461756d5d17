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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote

from .context import HttpRequest
from .errors import AwsError

__all__ = ["Scope", "SignatureMismatchError", "check_expiry", "precheck", "verify"]

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


class SignatureMismatchError(AwsError):
    """A well-formed signature that is not the one the endpoint computes for the request.

    It carries what the endpoint signed, for the services that send it back (API Gateway puts
    both strings in its message so that a client can compare them with its own).
    """

    def __init__(self, code: str, message: str, status: int, *, canonical_request: str, string_to_sign: str) -> None:
        super().__init__(code, message, status)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


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
        if "X-Amz-Signature=" in request.query:  # SigV4 query auth requires it
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires must be given for a presigned request", 400)
        return
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    try:
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"])
    except (KeyError, ValueError) as exc:
        raise AwsError("AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires must be given and valid", 400) from exc
    if not 1 <= expires <= MAX_EXPIRES_S:
        raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400)
    if (now or datetime.now(UTC)) > signed_at + timedelta(seconds=expires):
        raise AwsError("AccessDenied", "Request has expired", 403)


@dataclass(frozen=True)
class _Claim:
    """What a request says about its signature, before the body is read."""

    presigned: bool
    credential: str
    signed_headers: str
    signature: str
    amz_date: str
    secret: str


def precheck(request: HttpRequest, service: str, secrets: Mapping[str, str], now: datetime | None = None) -> None:
    """Refuse, from its headers alone, a request :func:`verify` would refuse whatever its body.

    The server calls it before reading a body: an unsigned or foreign request never gets
    to make the endpoint hold megabytes in memory.
    """
    now = now or datetime.now(UTC)
    if _is_v2_presigned(request, service):
        _v2_secret(request, secrets, now)
    else:
        _claim(request, service, secrets, now)


@dataclass(frozen=True)
class Scope:
    """The credential scope a request must be signed for (its signing name and region)."""

    service: str
    region: str


def verify(
    request: HttpRequest,
    service: str,
    secrets: Mapping[str, str],
    now: datetime | None = None,
    *,
    scope: Scope | None = None,
) -> str:
    """Check the request's SigV4 signature and its payload's hash; return the access key id it was signed with.

    ``request`` is the request as it came (before any aws-chunked decoding or path rewrite):
    what the client signed. ``service`` words the refusals; the scope the client signed for
    is its own unless ``scope`` names the one it must be (a resource that answers for a
    single service in a single region, as a function URL does).

    Raises:
        AwsError: the service's codes (see :data:`_FAMILY_CODES`): no signature, an unknown
            key, a stale date, a scope other than ``scope``, a payload that is not what was
            signed, or a signature that does not match.
    """
    now = now or datetime.now(UTC)
    if _is_v2_presigned(request, service):
        if scope is not None:
            # A SigV2 signature names no scope: it cannot have been made for the expected one.
            raise _denied(service, "incomplete", "The request signature does not conform to AWS standards")
        return _verify_v2_query(request, secrets, now)
    claim = _claim(request, service, secrets, now)
    _check_all_signed(request, service, claim)
    access_key, day, region, signing_name, _ = claim.credential.split("/")
    if scope is not None:
        _check_scope(service, scope, signing_name, region)
    payload = "UNSIGNED-PAYLOAD" if claim.presigned else _payload_hash(request, service)
    canonical = _canonical_request(request, claim.signed_headers.split(";"), service, payload)
    credential_scope = f"{day}/{region}/{signing_name}/aws4_request"
    to_sign = "\n".join(("AWS4-HMAC-SHA256", claim.amz_date, credential_scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _signing_key(claim.secret, day, region, signing_name)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    # Bytes: compare_digest refuses str with non-ASCII text (a signature is the client's to write).
    if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "surrogatepass")):
        denied = _denied(
            service,
            "bad-signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
        raise SignatureMismatchError(denied.code, denied.message, denied.status, canonical_request=canonical, string_to_sign=to_sign)
    return access_key


def _check_scope(service: str, expected: Scope, signing_name: str, region: str) -> None:
    """Refuse a signature made for another service or region (AWS's wording for each)."""
    if signing_name != expected.service:
        raise _denied(service, "bad-signature", f"Credential should be scoped to correct service: '{expected.service}'.")
    if region != expected.region:
        raise _denied(service, "bad-signature", f"Credential should be scoped to a valid region, not '{region}'.")


def _check_all_signed(request: HttpRequest, service: str, claim: _Claim) -> None:
    """Refuse ``x-amz-*`` headers the signature does not cover (S3's HeadersNotSigned).

    They change what an S3 request does (``x-amz-copy-source`` turns a PUT into a copy,
    ``x-amz-meta-*`` sets metadata): accepting them unsigned would let anyone who saw a
    signed request replay it as another. ``X-Amz-Target`` names the operation elsewhere.
    """
    signed = {name.strip().lower() for name in claim.signed_headers.split(";")}
    if service == "s3":
        unsigned = sorted(name for name in request.headers if name.startswith("x-amz-") and name not in signed)
    else:
        unsigned = [name for name in ("x-amz-target",) if name in request.headers and name not in signed]
    if unsigned:
        raise AwsError(
            "AccessDenied",
            f"There were headers present in the request which were not signed: {', '.join(unsigned)}",
            403,
            fields={"HeadersNotSigned": ", ".join(unsigned)},
        )


def _is_v2_presigned(request: HttpRequest, service: str) -> bool:
    return service == "s3" and "Signature=" in request.query and "AWSAccessKeyId=" in request.query


def _claim(request: HttpRequest, service: str, secrets: Mapping[str, str], now: datetime) -> _Claim:
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
    secret = secrets.get(parts[0])
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
    return _Claim(presigned, credential, signed_headers, signature, amz_date, secret)


_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _payload_hash(request: HttpRequest, service: str) -> str:
    """The payload hash the signature covers, checked against the body.

    A signed hash must be the body's (S3's XAmzContentSHA256Mismatch otherwise): the
    header is the client's claim, and trusting it would let a captured request carry
    another body. Unsigned payloads are S3's alone; chunk-signed (``STREAMING-AWS4-...``)
    bodies would need every chunk's signature checked, which the endpoint does not do,
    so it refuses them rather than accept what it cannot verify.
    """
    claimed = request.header("x-amz-content-sha256")
    actual = hashlib.sha256(request.body).hexdigest()
    if claimed is None:
        return actual
    if _HEX_SHA256.match(claimed):
        if claimed != actual:
            raise AwsError(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
                fields={"ClientComputedContentSHA256": claimed, "S3ComputedContentSHA256": actual},
            )
        return claimed
    if claimed in ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER") and service == "s3":
        return claimed
    if claimed.startswith("STREAMING-AWS4-") and service == "s3":
        raise AwsError(
            "NotImplemented",
            "A chunk-signed payload (aws-chunked with chunk signatures) cannot be verified by the Sluiceway endpoint; "
            "sign the whole payload or send UNSIGNED-PAYLOAD",
            501,
        )
    raise _denied(service, "incomplete", f"x-amz-content-sha256 must be the payload's SHA-256, not {claimed!r}")


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _canonical_request(request: HttpRequest, signed: list[str], service: str, payload: str) -> str:
    # S3 signs the path as sent (encoded once); every other service encodes the sent path
    # again, after removing dot segments (AWS's SigV4 rules; botocore's auth.py does the same).
    path = request.path or "/"
    canonical_path = path if service == "s3" else quote(_remove_dots(path), safe="/~")
    pairs = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))
    headers = "".join(f"{name}:{' '.join((request.header(name) or '').split())}\n" for name in signed)
    return "\n".join((request.method, canonical_path, query, headers, ";".join(signed), payload))


def _remove_dots(path: str) -> str:
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized.replace("//", "/")


#: S3's sub-resources: the query parameters a SigV2 signature covers.
_V2_SUBRESOURCES = frozenset(
    {
        "acl",
        "cors",
        "delete",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "partNumber",
        "policy",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def _v2_secret(request: HttpRequest, secrets: Mapping[str, str], now: datetime) -> str:
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    secret = secrets.get(query.get("AWSAccessKeyId", ""))
    if secret is None:
        raise _denied("s3", "unknown-key", "The AWS Access Key Id you provided does not exist in our records.")
    check_expiry(request, "s3", now)
    return secret


def _verify_v2_query(request: HttpRequest, secrets: Mapping[str, str], now: datetime) -> str:
    """A SigV2 presigned S3 URL: HMAC-SHA1 over method, Content-MD5, Content-Type, Expires and resource."""
    secret = _v2_secret(request, secrets, now)
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    access_key = query["AWSAccessKeyId"]
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
    if not hmac.compare_digest(expected.encode(), query.get("Signature", "").encode("utf-8", "surrogatepass")):
        raise _denied(
            "s3",
            "bad-signature",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    return access_key
