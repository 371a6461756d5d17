"""The client's half of Cognito's SRP, written from the published algorithm as the SDKs compute it
(amazon-cognito-identity-js's AuthenticationHelper, pycognito's aws_srp.py): over hex strings, with
their padding rule. Independent of ``sluiceway.cognito.srp`` on purpose: a test that signs in with
it checks the server against what real clients send, not against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
BIG_N = int(N_HEX, 16)
_G = 2
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _hex_hash(hex_string: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_string)).hexdigest().rjust(64, "0")


def _pad_hex(value: int | str) -> str:
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2 == 1:
        return "0" + text
    return "00" + text if text[0] in "89ABCDEFabcdef" else text


_K = int(_hex_hash("00" + N_HEX + "0" + "2"), 16)


def timestamp(moment: datetime) -> str:
    """``EEE MMM d HH:mm:ss z yyyy`` as the SDKs write it: the day unpadded."""
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} UTC {moment.year}"
    )


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class SrpClient:
    """One sign-in's client: ``auth_parameters()``, then ``answer(challenge_parameters, now)``."""

    username: str
    password: str
    pool_id: str
    client_id: str
    client_secret: str | None = None
    small_a: int = field(default_factory=lambda: secrets.randbits(1024) % BIG_N)

    @property
    def large_a(self) -> int:
        return pow(_G, self.small_a, BIG_N)

    def auth_parameters(self) -> dict[str, str]:
        params = {"USERNAME": self.username, "SRP_A": f"{self.large_a:x}"}
        if self.client_secret:
            params["SECRET_HASH"] = secret_hash(self.username, self.client_id, self.client_secret)
        return params

    def answer(self, challenge: dict[str, str], now: datetime, *, stamp: str | None = None, password: str | None = None) -> dict[str, str]:
        """ChallengeResponses for PASSWORD_VERIFIER (``stamp``: a TIMESTAMP other than the SDKs')."""
        user_id = challenge["USER_ID_FOR_SRP"]
        big_b = int(challenge["SRP_B"], 16)
        u = int(_hex_hash(_pad_hex(self.large_a) + _pad_hex(big_b)), 16)
        assert u != 0
        inner = hashlib.sha256(f"{self.pool_id.split('_')[1]}{user_id}:{password or self.password}".encode()).hexdigest().rjust(64, "0")
        x = int(_hex_hash(_pad_hex(challenge["SALT"]) + inner), 16)
        s = pow(big_b - _K * pow(_G, x, BIG_N), self.small_a + u * x, BIG_N)
        prk = hmac.new(bytes.fromhex(_pad_hex(u)), bytes.fromhex(_pad_hex(s)), hashlib.sha256).digest()
        key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
        when = stamp or timestamp(now)
        message = self.pool_id.split("_")[1].encode() + user_id.encode() + base64.b64decode(challenge["SECRET_BLOCK"]) + when.encode()
        responses = {
            "TIMESTAMP": when,
            "USERNAME": challenge["USERNAME"],
            "PASSWORD_CLAIM_SECRET_BLOCK": challenge["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode(),
        }
        if self.client_secret:
            responses["SECRET_HASH"] = secret_hash(challenge["USERNAME"], self.client_id, self.client_secret)
        return responses
