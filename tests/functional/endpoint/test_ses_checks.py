"""SES v1 and v2 refusing what AWS refuses (bad addresses, headers, charsets, sizes, counts,
unverified senders in a raw message), attachments, DKIM tokens, tags and paging, through boto3."""

from __future__ import annotations

import base64
import email
import json
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local.ses_mail import SqliteMailbox
from sluiceway.endpoint.server import Endpoint

Aws = Callable[..., Any]
SENDER = "ops@checks.example"
TO = {"ToAddresses": ["a@b.example"]}
BODY = {"Text": {"Data": "b"}}


@pytest.fixture(scope="module")
def ses(aws: Aws) -> Any:
    client = aws("ses")
    client.verify_domain_identity(Domain="checks.example")
    return client


@pytest.fixture(scope="module")
def sesv2(aws: Aws, ses: Any) -> Any:
    return aws("sesv2")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def _captured(endpoint: Endpoint, message_id: str) -> EmailMessage:
    raw = (endpoint.stack.settings.data_dir / "ses" / f"{message_id}.eml").read_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _row(endpoint: Endpoint, message_id: str) -> Any:
    box = endpoint.shared.get("ses.mailbox", lambda: None)
    assert isinstance(box, SqliteMailbox)
    return box.message(message_id)


@pytest.mark.parametrize(
    "call",
    [
        {"Destination": TO, "Message": {"Subject": {"Data": "hi\r\nBcc: v@evil.example"}, "Body": BODY}},
        {"Destination": {"ToAddresses": ["a@b.example\r\nBcc: v@evil.example"]}, "Message": {"Subject": {"Data": "s"}, "Body": BODY}},
        {"Destination": {"ToAddresses": ["a b@b.example"]}, "Message": {"Subject": {"Data": "s"}, "Body": BODY}},
        {"Destination": TO, "ReplyToAddresses": ["r@b.example\r\nX-Evil: 1"], "Message": {"Subject": {"Data": "s"}, "Body": BODY}},
        {"Destination": TO, "Message": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b", "Charset": "nonsense-xx"}}}},
        {"Destination": TO, "Message": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "héllo", "Charset": "us-ascii"}}}},
        {"Destination": {"ToAddresses": [f"r{i}@b.example" for i in range(51)]}, "Message": {"Subject": {"Data": "s"}, "Body": BODY}},
    ],
    ids=["subject-crlf", "to-crlf", "to-space", "reply-to-crlf", "unknown-charset", "ascii-charset", "51-recipients"],
)
def test_v1_refuses_what_cannot_make_a_message(ses: Any, call: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        ses.send_email(Source=SENDER, **call)
    assert _error(excinfo)[0] == "InvalidParameterValue"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_recipient_count_and_message_length_in_ses_words(ses: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ses.send_email(
            Source=SENDER,
            Destination={"ToAddresses": [f"r{i}@b.example" for i in range(51)]},
            Message={"Subject": {"Data": "s"}, "Body": BODY},
        )
    assert _error(excinfo) == ("InvalidParameterValue", "Recipient count exceeds 50.")
    raw = b"From: ops@checks.example\r\nTo: a@b.example\r\nSubject: big\r\n\r\n" + (b"A" * 998 + b"\r\n") * 10_600
    with pytest.raises(ClientError) as excinfo:
        ses.send_raw_email(RawMessage={"Data": raw})
    assert _error(excinfo) == ("InvalidParameterValue", f"Message length is more than 10485760 bytes long: '{len(raw)}'.")
    with pytest.raises(ClientError) as excinfo:
        ses.send_raw_email(RawMessage={"Data": b""}, Source=SENDER, Destinations=["a@b.example"])
    assert _error(excinfo)[0] == "InvalidParameterValue"


def test_a_rendered_value_that_breaks_the_subject_is_a_rendering_failure(ses: Any, endpoint: Endpoint) -> None:
    ses.create_template(Template={"TemplateName": "checks-crlf", "SubjectPart": "Hi {{name}}", "TextPart": "x"})
    data = json.dumps({"name": "a\r\nBcc: v@evil.example"})
    sent = ses.send_templated_email(Source=SENDER, Destination=TO, Template="checks-crlf", TemplateData=data)
    row = _row(endpoint, sent["MessageId"])
    assert row.status == "render-failed" and row.file is None
    with pytest.raises(ClientError) as excinfo:
        ses.test_render_template(TemplateName="checks-crlf", TemplateData=data)
    assert _error(excinfo)[0] == "InvalidRenderingParameter"


def test_every_sender_a_raw_message_names_must_be_verified(ses: Any, sesv2: Any) -> None:
    for header in ("From", "Sender", "Return-Path"):
        raw = f"From: {SENDER}\r\n{header}: boss@unverified.example\r\nTo: a@b.example\r\n\r\nhi".encode()
        if header == "From":
            raw = b"From: boss@unverified.example\r\nTo: a@b.example\r\n\r\nhi"
        with pytest.raises(ClientError) as excinfo:
            ses.send_raw_email(RawMessage={"Data": raw}, Source=SENDER)
        assert _error(excinfo) == (
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in region US-EAST-1: boss@unverified.example",
        )
        with pytest.raises(ClientError) as excinfo:
            sesv2.send_email(FromEmailAddress=SENDER, Content={"Raw": {"Data": raw}})
        assert _error(excinfo)[0] == "MessageRejected"


def test_bulk_sends_take_at_most_50_destinations(ses: Any, sesv2: Any) -> None:
    ses.create_template(Template={"TemplateName": "checks-bulk", "SubjectPart": "s", "TextPart": "x"})
    many = [{"Destination": {"ToAddresses": [f"r{i}@b.example"]}} for i in range(51)]
    with pytest.raises(ClientError) as excinfo:
        ses.send_bulk_templated_email(Source=SENDER, Template="checks-bulk", DefaultTemplateData="{}", Destinations=many)
    assert _error(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sesv2.send_bulk_email(
            FromEmailAddress=SENDER,
            DefaultContent={"Template": {"TemplateName": "checks-bulk", "TemplateData": "{}"}},
            BulkEmailEntries=many,
        )
    assert _error(excinfo)[0] == "BadRequestException"


@pytest.mark.parametrize(
    "headers",
    [
        [{"Name": "X-A", "Value": "1\r\nBcc: v@evil.example"}],
        [{"Name": "X A:", "Value": "1"}],
        [{"Name": "From", "Value": "boss@other.example"}],
        [{"Name": "Subject", "Value": "two"}],
    ],
    ids=["value-crlf", "bad-name", "second-from", "second-subject"],
)
def test_v2_refuses_headers_that_break_the_message(sesv2: Any, headers: list[dict[str, str]]) -> None:
    with pytest.raises(ClientError) as excinfo:
        sesv2.send_email(
            FromEmailAddress=SENDER, Destination=TO, Content={"Simple": {"Subject": {"Data": "s"}, "Body": BODY, "Headers": headers}}
        )
    assert _error(excinfo)[0] == "BadRequestException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_v2_replaces_date_and_message_id_and_sends_attachments(sesv2: Any, endpoint: Endpoint) -> None:
    sent = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination=TO,
        Content={
            "Simple": {
                "Subject": {"Data": "report"},
                "Body": {"Text": {"Data": "attached"}},
                "Headers": [{"Name": "Date", "Value": "Mon, 1 Jan 2001 00:00:00 +0000"}, {"Name": "Message-ID", "Value": "<x@y>"}],
                "Attachments": [
                    {"RawContent": b"%PDF\x00\xff", "FileName": "r.pdf", "ContentType": "application/pdf"},
                    {
                        "RawContent": b"png",
                        "FileName": "l.png",
                        "ContentType": "image/png",
                        "ContentDisposition": "INLINE",
                        "ContentId": "l1",
                    },
                ],
            }
        },
    )
    message = _captured(endpoint, sent["MessageId"])
    assert message.get_all("Message-ID") == [f"<{sent['MessageId']}@email.amazonses.com>"]
    assert len(message.get_all("Date") or []) == 1 and "2001" not in message["Date"]
    assert message.get_content_type() == "multipart/mixed"
    found = {part.get_filename(): part for part in message.iter_attachments()}
    assert found["r.pdf"].get_content() == b"%PDF\x00\xff" and found["l.png"]["Content-ID"] == "<l1>"


def test_v2_domain_has_three_dkim_tokens_and_keeps_tags(sesv2: Any) -> None:
    made = sesv2.create_email_identity(EmailIdentity="dkim.checks-v2.example", Tags=[{"Key": "team", "Value": "data"}])
    tokens = made["DkimAttributes"]["Tokens"]
    assert len(tokens) == 3 and len(set(tokens)) == 3
    assert all(t.isalnum() and t == t.lower() and len(t) <= 63 for t in tokens)
    got = sesv2.get_email_identity(EmailIdentity="dkim.checks-v2.example")
    assert got["DkimAttributes"]["Tokens"] == tokens and got["Tags"] == [{"Key": "team", "Value": "data"}]
    sesv2.create_configuration_set(ConfigurationSetName="checks-tagged", Tags=[{"Key": "k", "Value": "v"}])
    assert sesv2.get_configuration_set(ConfigurationSetName="checks-tagged")["Tags"] == [{"Key": "k", "Value": "v"}]
    sesv2.create_email_template(TemplateName="checks-tagged", TemplateContent={"Subject": "s"}, Tags=[{"Key": "k", "Value": "t"}])
    assert sesv2.get_email_template(TemplateName="checks-tagged")["Tags"] == [{"Key": "k", "Value": "t"}]


def test_v1_paging(ses: Any) -> None:
    for i in range(12):
        ses.create_template(Template={"TemplateName": f"checks-page-{i:02}", "SubjectPart": "s"})
    first = ses.list_templates()
    assert len(first["TemplatesMetadata"]) == 10 and first["NextToken"]  # SES's default page
    assert len(ses.list_templates(MaxItems=500)["TemplatesMetadata"]) <= 100  # lowered to 100, not refused
    for bad in (base64.urlsafe_b64encode(b"-5").decode(), "!!garbage"):
        with pytest.raises(ClientError) as excinfo:
            ses.list_identities(NextToken=bad)
        assert _error(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        ses.list_identities(MaxItems=0)
    assert _error(excinfo)[0] == "InvalidParameterValue"


def test_v2_model_constraints_answer_bad_request(sesv2: Any) -> None:
    headers = [{"Name": f"X-H{i}", "Value": "v"} for i in range(16)]
    with pytest.raises(ClientError) as excinfo:
        sesv2.send_email(
            FromEmailAddress=SENDER, Destination=TO, Content={"Simple": {"Subject": {"Data": "s"}, "Body": BODY, "Headers": headers}}
        )
    code, message = _error(excinfo)
    assert code == "BadRequestException"
    assert message.startswith("1 validation error detected: ") and "Member must have length less than or equal to 15" in message
    with pytest.raises(ClientError) as excinfo:
        sesv2.list_email_identities(PageSize=0)
    assert _error(excinfo)[0] == "BadRequestException"
    with pytest.raises(ClientError) as excinfo:
        sesv2.list_email_identities(NextToken=base64.urlsafe_b64encode(b"-1").decode())
    assert _error(excinfo)[0] == "BadRequestException"
