"""The server's half of Cognito's SRP-6a (USER_SRP_AUTH), byte for byte as Cognito's SDKs compute theirs.

Cognito's variant ("Caldera"), as amazon-cognito-identity-js's ``AuthenticationHelper``, Amplify and
pycognito implement the client side:

- the 3072-bit group of RFC 5054 (appendix A), ``g = 2``, SHA-256 throughout;
- every number hashed as its shortest big-endian two's-complement bytes (``pad``: Java's
  ``BigInteger.toByteArray``), not padded to the length of N as RFC 5054 pads;
- ``k = H(pad(N) | pad(g))``, ``u = H(pad(A) | pad(B))``;
- ``x = H(pad(salt) | H(poolName | userIdForSrp | ":" | password))``, poolName being the pool id
  without its region (``us-east-1_AbC`` -> ``AbC``); the verifier is ``v = g^x mod N``;
- ``B = (k*v + g^b) mod N``; the server's ``S = (A * v^u)^b mod N``;
- the key is HKDF-SHA256 with salt ``pad(u)`` over ``pad(S)``, info "Caldera Derived Key", 16 bytes;
- the proof is ``HMAC-SHA256(key, poolName | userIdForSrp | SECRET_BLOCK bytes | TIMESTAMP)``.

Pure: the random values (salts, the server's ``b``) are the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime

__all__ = [
    "G",
    "N",
    "claim_signature",
    "decoy",
    "format_timestamp",
    "parse_public",
    "parse_timestamp",
    "password_verifier",
    "pool_name",
    "salt_hex",
    "server_public",
    "session_key",
    "signatures_match",
]

N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
"""RFC 5054's 3072-bit prime, the one Cognito's SDKs hard-code."""
G = 2

_INFO = b"Caldera Derived Key"
_KEY_BYTES = 16
#: A's hex digits beyond N's (768) are refused unread: a huge number would only cost the server time.
_MAX_PUBLIC_DIGITS = 2 * 385
_HEX = re.compile(r"[0-9a-fA-F]+")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Cognito's ``EEE MMM d HH:mm:ss z yyyy`` in English. Parsing it is lenient about the weekday and
#: a padded day, as Java's parser is; what is signed is the canonical form (see format_timestamp).
_TIMESTAMP = re.compile(
    rf"(?:{'|'.join(_DAYS)}) (?P<month>{'|'.join(_MONTHS)}) (?P<day>\d{{1,2}}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) (?:UTC|GMT) (?P<year>\d{4})"
)


def _pad(value: int) -> bytes:
    """``value``'s shortest two's-complement bytes: a leading zero byte when its top bit is set."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _hash(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


K = int.from_bytes(_hash(_pad(N), _pad(G)), "big")


def pool_name(pool_id: str) -> str:
    """The pool id without its region, as SRP hashes it: ``us-east-1_AbC`` -> ``AbC``."""
    return pool_id.split("_", 1)[1] if "_" in pool_id else pool_id


def salt_hex(random16: bytes) -> str:
    """A salt as SALT carries it, from 16 random bytes.

    A first byte of zero is made one: clients disagree on a salt whose hex starts with zeros
    (pycognito hashes the hex as sent, the JavaScript SDK the number's shortest form).
    """
    if len(random16) != 16:
        raise ValueError("a salt is 16 bytes")
    return (bytes([random16[0] or 1]) + random16[1:]).hex()


def password_verifier(pool_id: str, user_id: str, password: str, salt: str) -> int:
    """``v = g^x mod N`` for ``password`` of the user whose USER_ID_FOR_SRP is ``user_id``."""
    inner = _hash(f"{pool_name(pool_id)}{user_id}:{password}".encode("utf-8", "surrogatepass"))
    x = int.from_bytes(_hash(_pad(int(salt, 16)), inner), "big")
    return pow(G, x, N)


def server_public(verifier: int, b: int) -> int:
    """``B = (k*v + g^b) mod N`` (the caller draws ``b`` again in the unlikely case this is 0)."""
    return (K * verifier + pow(G, b, N)) % N


def parse_public(text: str) -> int | None:
    """A client's SRP_A, or None when it is not one: not hex, too long, or a multiple of N
    (with ``A = 0 mod N``, S would be 0 whatever the password: RFC 5054 2.5.4 has servers abort)."""
    if not text or len(text) > _MAX_PUBLIC_DIGITS or not _HEX.fullmatch(text):
        return None
    value = int(text, 16)
    return value if value % N else None


def session_key(a_public: int, b_public: int, b: int, verifier: int) -> bytes | None:
    """The 16-byte key both sides derive, or None when ``u`` is 0 (clients refuse such a B too)."""
    u = int.from_bytes(_hash(_pad(a_public), _pad(b_public)), "big")
    if u == 0:
        return None
    s = pow(a_public * pow(verifier, u, N) % N, b, N)
    prk = hmac.new(_pad(u), _pad(s), hashlib.sha256).digest()
    return hmac.new(prk, _INFO + b"\x01", hashlib.sha256).digest()[:_KEY_BYTES]


def claim_signature(key: bytes, pool_id: str, user_id: str, secret_block: bytes, timestamp: str) -> bytes:
    """PASSWORD_CLAIM_SIGNATURE's bytes (clients send them in base64)."""
    message = pool_name(pool_id).encode() + user_id.encode("utf-8", "surrogatepass") + secret_block + timestamp.encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def signatures_match(given: bytes, expected: bytes) -> bool:
    """Constant-time comparison: the time taken says nothing of how much of a guess was right."""
    return hmac.compare_digest(given, expected)


def parse_timestamp(text: str) -> datetime | None:
    """TIMESTAMP as a moment (UTC), or None when it is not Cognito's format or no real date."""
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        return None
    try:
        return datetime(
            int(found["year"]), _MONTHS.index(found["month"]) + 1, int(found["day"]),
            int(found["hour"]), int(found["minute"]), int(found["second"]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """The canonical TIMESTAMP of ``moment``: ``Sat Dec 5 09:30:00 UTC 2026``, the day unpadded.

    Cognito signs this form of the moment it parsed, not the text it was sent: a padded day or a
    wrong weekday, though parsed, fails the signature ("Incorrect username or password.").
    """
    moment = moment.astimezone(UTC)
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} UTC {moment.year}"
    )


def decoy(secret: bytes, name: str) -> tuple[str, str]:
    """The SALT and USER_ID_FOR_SRP answered for a user who does not exist: the same for the same
    name and pool every time, as Cognito's are (a salt that changed would tell who exists), and a
    UUID for the id, as Cognito's is. ``secret`` is a key only the pool's store knows."""
    digest = hmac.new(secret, b"srp-decoy\x00" + name.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return salt_hex(digest[:16]), str(uuid.UUID(bytes=digest[16:32], version=4))
