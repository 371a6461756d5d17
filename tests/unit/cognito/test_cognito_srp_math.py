"""Cognito's SRP math (cognito/srp.py): a known answer recorded with pycognito's client, TIMESTAMP's
format, and the refusals of values no honest client sends."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from sluiceway.cognito import srp

POOL_ID = "us-east-1_AbCdEf123"
SALT = "8ce8291892390f6b53a245933faf6164"


def test_a_known_answer_recorded_with_pycognitos_client() -> None:
    """pycognito 2024.5.1 (aws_srp.AWSSRP), with a = 0x33..33 (256 digits) mod N and the server's
    b = 0x77..77 (64 digits), derived this key and signed this message; the server must agree."""
    a = int("3" * 256, 16) % srp.N
    a_public = pow(srp.G, a, srp.N)
    assert format(a_public, "x").startswith("622a8d0ad1b6e8ab7bf9836d0664676d42b143f6")
    verifier = srp.password_verifier(POOL_ID, "ann", "Corr3ct-Horse!", SALT)
    assert format(verifier, "x").startswith("8ada99c7cc887a009402ff23e9a64c75")
    b = int("7" * 64, 16)
    key = srp.session_key(a_public, srp.server_public(verifier, b), b, verifier)
    assert key is not None and key.hex() == "24f964a281796945b8203d3332150231"
    signature = srp.claim_signature(key, POOL_ID, "ann", b"secret-block-bytes", "Sat Dec 5 09:30:00 UTC 2026")
    assert base64.b64encode(signature).decode() == "Wc4LCYRPawwXvnU3jl6tNEMJJr6f3oIxAQUS2jnLc+Y="


def test_another_password_derives_another_key() -> None:
    a = 12345678901234567890
    a_public = pow(srp.G, a, srp.N)
    right = srp.password_verifier(POOL_ID, "ann", "Corr3ct-Horse!", SALT)
    wrong = srp.password_verifier(POOL_ID, "ann", "Corr3ct-Horse?", SALT)
    b = 987654321
    b_public = srp.server_public(right, b)
    assert srp.session_key(a_public, b_public, b, right) != srp.session_key(a_public, b_public, b, wrong)


def test_the_timestamp_is_cognitos_with_the_day_unpadded() -> None:
    assert srp.format_timestamp(datetime(2026, 12, 5, 9, 30, tzinfo=UTC)) == "Sat Dec 5 09:30:00 UTC 2026"
    assert srp.format_timestamp(datetime(2026, 12, 15, 23, 5, 9, tzinfo=UTC)) == "Tue Dec 15 23:05:09 UTC 2026"


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("Sat Dec 5 09:30:00 UTC 2026", datetime(2026, 12, 5, 9, 30, tzinfo=UTC)),
        ("Sat Dec 05 09:30:00 UTC 2026", datetime(2026, 12, 5, 9, 30, tzinfo=UTC)),  # parsed; its signature fails
        ("Mon Dec 5 09:30:00 GMT 2026", datetime(2026, 12, 5, 9, 30, tzinfo=UTC)),  # the weekday is not checked: signed
        ("Sat Dec 5 9:30:00 UTC 2026", None),
        ("Sat Dec 5 09:30:00 +0000 2026", None),
        ("Sat Feb 30 09:30:00 UTC 2026", None),
        ("sat dec 5 09:30:00 utc 2026", None),
        ("2026-12-05T09:30:00Z", None),
        ("", None),
    ],
)
def test_timestamps_are_parsed_as_cognitos_format_only(text: str, moment: datetime | None) -> None:
    assert srp.parse_timestamp(text) == moment


@pytest.mark.parametrize("text", ["", "0", "00", format(srp.N, "x"), format(3 * srp.N, "X"), "0x1f", " 1f", "1_f", "g1", "1" * 771])
def test_values_no_client_sends_are_not_public_values(text: str) -> None:
    assert srp.parse_public(text) is None


def test_a_real_public_value_parses() -> None:
    assert srp.parse_public("1F") == 31
    assert srp.parse_public(format(srp.N + 5, "x")) == srp.N + 5


def test_salts_never_start_with_a_zero_byte_which_clients_hash_differently() -> None:
    assert srp.salt_hex(bytes(16)) == "01" + "00" * 15
    assert srp.salt_hex(bytes([0x8C]) + bytes(15)).startswith("8c")
    with pytest.raises(ValueError, match="16 bytes"):
        srp.salt_hex(bytes(15))


def test_decoys_are_the_same_for_a_name_and_differ_between_names_and_pools() -> None:
    salt, user_id = srp.decoy(b"pool-one", "nobody")
    assert (salt, user_id) == srp.decoy(b"pool-one", "nobody")
    assert uuid.UUID(user_id).version == 4
    assert len(salt) == 32 and salt[:2] != "00"
    assert srp.decoy(b"pool-one", "somebody")[0] != salt
    assert srp.decoy(b"pool-two", "nobody")[0] != salt


def test_the_pool_name_is_the_id_without_its_region() -> None:
    assert srp.pool_name("eu-west-1_AbC") == "AbC"
    assert srp.pool_name("AbC") == "AbC"
