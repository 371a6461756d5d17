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
