"""SRP's rows (migration 0090): each user's salt and password verifier, and the PASSWORD_VERIFIER
challenges InitiateAuth(USER_SRP_AUTH) has handed out and RespondToAuthChallenge has yet to take.

Cognito keeps no password, only what SRP needs: ``v = g^x mod N`` with its salt, made whenever a
password is set (cognito/srp.py has the math). A user whose password was set before Sluiceway served
SRP has none until their next password sign-in makes it.

A challenge's SECRET_BLOCK is 32 random bytes standing for a row that holds the server's ``b`` and
the A and B of the exchange; only the SHA-256 of the block is kept. Unguessable, and worthless
without the row, it needs no signature of its own: a forged block finds no row. A block is taken
(deleted) by the first answer that presents it, right or wrong, and stops working
:data:`ANSWER_WITHIN_S` after it was issued. Decoy challenges (for users who do not exist or have no
verifier) cost what real ones cost, so that the time of an answer does not tell a decoy from a real
challenge: a user's is a row like any (its B made without a verifier, which
:meth:`Challenge.issued_for` tells apart), and one for a name with no user, whose row could not
stand, is written and rolled back (:func:`rehearse_challenge`). The table
stays small: expired rows go whenever a challenge is issued, and a name keeps at most the latest
few outstanding.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from ...cognito import srp

__all__ = [
    "ANSWER_WITHIN_S",
    "Challenge",
    "decoy_secret",
    "issue_challenge",
    "rehearse_challenge",
    "store_verifier",
    "take_challenge",
    "verifier_of",
]

_BLOCK_BYTES = 32
_OUTSTANDING_PER_USER = 5
"""Challenges a user may have open at once (a sign-in needs one; a few allow retries and tabs)."""
ANSWER_WITHIN_S = 30
"""How long a SECRET_BLOCK stays answerable. Cognito "requires that your application respond to this
challenge within a few seconds. When the response time exceeds this period, your user pool returns a
NotAuthorizedException error" (the API reference of RespondToAuthChallenge's PASSWORD_VERIFIER), and
publishes no number; the app client's AuthSessionValidity is for Session tokens, which this challenge
has none of. Thirty seconds: a client answers in one round trip and one 3072-bit exponentiation
(milliseconds on a laptop, a second or two in a slow mobile JavaScript engine), so real clients meet
it with room to spare, while a block kept for later is as useless as on Cognito."""


@dataclass(frozen=True)
class Challenge:
    """An outstanding PASSWORD_VERIFIER challenge, as its row keeps it."""

    pool_id: str
    client_id: str
    username_key: str
    a_public: int
    b_public: int
    b: int
    expires_at: int

    def issued_for(self, verifier: int) -> bool:
        """Whether this challenge's B was made from ``verifier``: not when it is a decoy's (made with
        none) or the user's password changed since it was issued. Costs one exponentiation."""
        return srp.server_public(verifier, self.b) == self.b_public


def store_verifier(conn: sqlite3.Connection, pool_id: str, username_key: str, user_id: str, password: str) -> None:
    """Keep a fresh salt and the verifier of ``password`` for the user (their previous ones go)."""
    salt = srp.salt_hex(secrets.token_bytes(16))
    verifier = srp.password_verifier(pool_id, user_id, password, salt)
    conn.execute(
        "INSERT INTO cognito_srp_verifiers (pool_id, username_key, salt, verifier) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (pool_id, username_key) DO UPDATE SET salt=excluded.salt, verifier=excluded.verifier",
        (pool_id, username_key, salt, format(verifier, "x")),
    )


def verifier_of(conn: sqlite3.Connection, pool_id: str, username_key: str) -> tuple[str, int] | None:
    """The user's salt and verifier, or None when no password was set since Sluiceway kept them."""
    row = conn.execute(
        "SELECT salt, verifier FROM cognito_srp_verifiers WHERE pool_id=? AND username_key=?", (pool_id, username_key)
    ).fetchone()
    return None if row is None else (str(row["salt"]), int(row["verifier"], 16))


def decoy_secret(conn: sqlite3.Connection, pool_id: str) -> bytes:
    """A key only this pool's store knows, for the decoy salts of users who do not exist: derived
    from the pool's private signing key, so it needs no storage of its own and never leaves."""
    row = conn.execute("SELECT key_pem FROM cognito_pools WHERE pool_id=?", (pool_id,)).fetchone()
    pem = row["key_pem"] if row is not None else b""
    return hmac.new(b"sluiceway-srp-decoy", bytes(pem), hashlib.sha256).digest()


def _block_hash(block: bytes) -> str:
    return hashlib.sha256(block).hexdigest()


def issue_challenge(
    conn: sqlite3.Connection, *, pool_id: str, client_id: str, username_key: str, a_public: int, verifier: int, now: int
) -> tuple[int, bytes]:
    """Draw ``b``, keep the challenge, and return ``(B, SECRET_BLOCK bytes)``. Call in a write transaction.

    ``verifier`` 0 makes a decoy's: B a plain power of g, that no password answers."""
    expires_at = now + ANSWER_WITHIN_S
    while True:
        b = secrets.randbits(256)
        b_public = srp.server_public(verifier, b)
        if b_public and b:
            break
    block = secrets.token_bytes(_BLOCK_BYTES)
    conn.execute("DELETE FROM cognito_srp_challenges WHERE expires_at <= ?", (now,))
    conn.execute(
        "INSERT INTO cognito_srp_challenges (block_hash, pool_id, client_id, username_key, srp_a, srp_b, b, issued_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_block_hash(block), pool_id, client_id, username_key, format(a_public, "x"), format(b_public, "x"), format(b, "x"), now,
         expires_at),
    )  # fmt: skip
    conn.execute(
        "DELETE FROM cognito_srp_challenges WHERE pool_id=? AND username_key=? AND block_hash NOT IN"
        " (SELECT block_hash FROM cognito_srp_challenges WHERE pool_id=? AND username_key=?"
        "  ORDER BY issued_at DESC, rowid DESC LIMIT ?)",
        (pool_id, username_key, pool_id, username_key, _OUTSTANDING_PER_USER),
    )
    return b_public, block


def rehearse_challenge(
    conn: sqlite3.Connection, *, pool_id: str, client_id: str, username_key: str, a_public: int, verifier: int, now: int
) -> tuple[int, bytes]:
    """A decoy challenge for a name with no user: :func:`issue_challenge`'s writes, made and undone.

    Its row cannot stay (it names no user), yet the work of writing it is what tells a real
    challenge from a decoy by time. Call in a write transaction; the foreign key to the user, which
    would refuse the row at once, is checked only at a commit that never comes.
    """
    conn.execute("SAVEPOINT srp_decoy")
    conn.execute("PRAGMA defer_foreign_keys = ON")  # off again at the transaction's end, by SQLite
    try:
        return issue_challenge(
            conn, pool_id=pool_id, client_id=client_id, username_key=username_key, a_public=a_public, verifier=verifier, now=now
        )
    finally:
        conn.execute("ROLLBACK TO srp_decoy")
        conn.execute("RELEASE srp_decoy")


def take_challenge(conn: sqlite3.Connection, block: bytes) -> Challenge | None:
    """The challenge ``block`` stands for, deleted so that it serves once; None when there is none.
    Call in a write transaction. The caller checks that it is the client's, the user's and unexpired."""
    digest = _block_hash(block)
    row = conn.execute("SELECT * FROM cognito_srp_challenges WHERE block_hash=?", (digest,)).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM cognito_srp_challenges WHERE block_hash=?", (digest,))
    return Challenge(
        pool_id=row["pool_id"], client_id=row["client_id"], username_key=row["username_key"], a_public=int(row["srp_a"], 16),
        b_public=int(row["srp_b"], 16), b=int(row["b"], 16), expires_at=int(row["expires_at"]),
    )  # fmt: skip
