"""JSON Web Tokens signed with RS256, as Cognito issues them, and their signature checked against a JWKS.

Only RS256 is accepted when verifying: a token whose header says ``none``, ``HS256`` (the
classic trick of an HMAC keyed with the public key) or anything else is refused before any
key is touched, as is a ``kid`` the key set does not hold. Claims (``exp``, ``iss``, ``aud``...)
are the caller's to check: API Gateway's JWT authorizer and Cognito's own API check
different ones, with different errors.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "TokenError", "b64url_decode", "b64url_encode", "generate_key", "jwk_of", "load_private_pem", "private_pem", "sign",
    "unverified_claims", "unverified_header", "verify_signature",
]  # fmt: skip

ALGORITHM = "RS256"
#: Tokens larger than this are refused unread (Cognito's are a few KiB; a header limit is 10 KiB).
MAX_TOKEN_BYTES = 16 * 1024


class TokenError(ValueError):
    """A token that is malformed or whose signature does not verify (the reason is for logs, not for clients)."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url, strictly: any other character is an error."""
    if not text.isascii() or any(c not in _B64URL for c in text):
        raise TokenError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("not base64url") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def generate_key() -> rsa.RSAPrivateKey:
    """A new 2048-bit RSA key (Cognito's user pool signing keys are RSA 2048)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_pem(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("a user pool's signing key must be RSA")
    return key


def jwk_of(key: rsa.RSAPrivateKey | rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    """The public JWK of ``key``, as Cognito's ``jwks.json`` lists it."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    numbers = public.public_numbers()
    return {
        "alg": ALGORITHM,
        "e": b64url_encode(_bytes_of(numbers.e)),
        "kid": kid,
        "kty": "RSA",
        "n": b64url_encode(_bytes_of(numbers.n)),
        "use": "sig",
    }


def _bytes_of(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")


def sign(claims: Mapping[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    """``header.payload.signature`` with ``{"kid": kid, "alg": "RS256"}`` (Cognito's header, in its order)."""
    header = b64url_encode(json.dumps({"kid": kid, "alg": ALGORITHM}, separators=(",", ":")).encode())
    payload = b64url_encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url_encode(signature)}"


def _parts(token: str) -> tuple[str, str, str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        raise TokenError("not a token")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise TokenError("a JWT has three non-empty dot-separated parts")
    return parts[0], parts[1], parts[2]


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and a number of more than 4300 digits; RecursionError deep nesting.
        raise TokenError(f"the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise TokenError(f"the {what} is not a JSON object")
    return value


def unverified_header(token: str) -> dict[str, Any]:
    """The token's header, unverified (to pick the issuer's keys by ``kid``)."""
    return _json_object(_parts(token)[0], "header")


def unverified_claims(token: str) -> dict[str, Any]:
    """The token's claims, UNVERIFIED: only to find which issuer's keys verify it."""
    return _json_object(_parts(token)[1], "payload")


def verify_signature(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The token's claims, once its RS256 signature verifies with the key of its ``kid`` in ``jwks``.

    Raises:
        TokenError: malformed; an algorithm other than RS256 (``none``, ``HS256``...); no ``kid`` or one
            ``jwks`` does not hold; a key that is not RSA; a signature that does not verify.
    """
    header_part, payload_part, signature_part = _parts(token)
    header = _json_object(header_part, "header")
    if header.get("alg") != ALGORITHM:
        raise TokenError(f"algorithm {header.get('alg')!r} is not accepted (RS256 only)")
    if "crit" in header:
        raise TokenError("critical header extensions are not understood")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("the header names no key (kid)")
    jwk = next((k for k in jwks.get("keys", ()) if isinstance(k, Mapping) and k.get("kid") == kid), None)
    if jwk is None:
        raise TokenError(f"no key {kid!r} in the issuer's key set")
    public = _public_key(jwk)
    signature = b64url_decode(signature_part)
    try:
        public.verify(signature, f"{header_part}.{payload_part}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise TokenError("the signature does not verify") from exc
    return _json_object(payload_part, "payload")


def _public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        raise TokenError("the key is not an RS256 signing key")
    try:
        n = int.from_bytes(b64url_decode(str(jwk["n"])), "big")
        e = int.from_bytes(b64url_decode(str(jwk["e"])), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    except (KeyError, ValueError) as exc:
        raise TokenError("the key is malformed") from exc
