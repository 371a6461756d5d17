"""How a function URL reads its function's answer (recorded against Lambda)."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.endpoint.lambda_urls.responses import MalformedResultError, url_response


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        ({"hello": "world"}, b'{"hello":"world"}'),
        (["hello", 3, True], b'["hello",3,true]'),
        ("hello", b"hello"),
        (3, b"3"),
        (3.1, b"3.1"),
        (True, b"true"),
    ],
)
def test_a_value_without_status_code_is_a_json_200(payload: Any, body: bytes) -> None:
    response = url_response(payload)
    assert (response.status, response.headers["Content-Type"], response.body) == (200, "application/json", body)


def test_a_response_with_status_code_cookies_and_base64() -> None:
    response = url_response(
        {
            "statusCode": "418",
            "headers": {"X-A": 1, "Content-Length": "9"},
            "cookies": ["a=1", "b=2"],
            "body": "aGk=",
            "isBase64Encoded": True,
        }
    )
    assert response.status == 418 and response.body == b"hi"
    assert [v for k, v in response.headers.items() if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.headers["X-A"] == "1" and "Content-Length" not in response.headers
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "payload", [{"statusCode": "abc"}, {"statusCode": 200, "cookies": "a=1"}, {"statusCode": 200, "body": "!", "isBase64Encoded": True}]
)
def test_a_malformed_response_is_refused(payload: Any) -> None:
    with pytest.raises(MalformedResultError):
        url_response(payload)


@pytest.mark.parametrize("status", [100, 101, 103, 199, "101", 600])
def test_an_interim_or_unknown_status_is_refused(status: Any) -> None:
    # 100 would leave the client waiting for the final answer, 101 would switch protocols.
    with pytest.raises(MalformedResultError):
        url_response({"statusCode": status, "headers": {"Upgrade": "websocket"}, "body": "x"})


def test_hop_by_hop_headers_and_the_functions_request_id_are_not_sent() -> None:
    given = {
        "Upgrade": "websocket", "Keep-Alive": "timeout=5", "Trailer": "X-T", "TE": "trailers", "Proxy-Connection": "close",
        "Connection": "close", "Transfer-Encoding": "chunked", "Content-Length": "1", "X-Amzn-RequestId": "mine",
        "x-amzn-requestid": "mine too", "X-Kept": "yes",
    }  # fmt: skip
    response = url_response({"statusCode": 200, "headers": given, "body": "x"})
    assert dict(response.headers.items()) == {"X-Kept": "yes", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": 200, "headers": {"X A:": "v"}},
        {"statusCode": 200, "headers": {"": "v"}},
        {"statusCode": 200, "headers": {"X-A\r\nX-B": "v"}},
        {"statusCode": 200, "headers": {"X-Ü": "v"}},
        {"statusCode": 200, "headers": {"X-A": "a\r\nSet-Cookie: evil=1"}},
        {"statusCode": 200, "headers": {"X-A": "a\nb"}},
        {"statusCode": 200, "headers": {"X-A": "a\x00b"}},
        {"statusCode": 200, "headers": {"Upgrade": "a\r\nb"}},  # refused even where the header is dropped
        {"statusCode": 200, "cookies": ["a=1\r\nX-Evil: 1"]},
        {"statusCode": 200, "cookies": ["a=\x00"]},
    ],
)
def test_a_header_that_would_break_the_response_is_refused(payload: Any) -> None:
    with pytest.raises(MalformedResultError):
        url_response(payload)


def test_token_names_and_plain_values_pass() -> None:
    response = url_response({"statusCode": 200, "headers": {"X-Odd!#$%&'*+.^_`|~1": "a b\tc"}, "cookies": ["a=1; Path=/"]})
    assert response.headers["X-Odd!#$%&'*+.^_`|~1"] == "a b\tc" and response.headers["Set-Cookie"] == "a=1; Path=/"
