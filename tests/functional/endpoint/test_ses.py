"""Amazon SES v1 and v2 through boto3 against the endpoint: identities, templates, sends, captured
messages, and AWS's errors."""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint

Aws = Callable[..., Any]


@pytest.fixture(scope="module")
def ses(aws: Aws) -> Any:
    return aws("ses")


@pytest.fixture(scope="module")
def sesv2(aws: Aws) -> Any:
    return aws("sesv2")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def _captured(endpoint: Endpoint, message_id: str) -> email.message.EmailMessage:
    path: Path = endpoint.stack.settings.data_dir / "ses" / f"{message_id}.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


SIMPLE = {"Subject": {"Data": "Run finished"}, "Body": {"Text": {"Data": "All rows loaded."}, "Html": {"Data": "<p>All rows</p>"}}}


def test_an_unverified_sender_is_rejected_and_a_verified_one_sends(ses: Any, endpoint: Endpoint) -> None:
    with pytest.raises(ClientError) as excinfo:
        ses.send_email(Source="ops@unverified.example", Destination={"ToAddresses": ["a@example.com"]}, Message=SIMPLE)
    assert _error(excinfo) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region US-EAST-1: ops@unverified.example",
    )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ses.verify_email_identity(EmailAddress="ops@v1.example")
    sent = ses.send_email(
        Source="ops@v1.example",
        Destination={"ToAddresses": ["a@example.com"], "CcAddresses": ["b@example.com"], "BccAddresses": ["hidden@example.com"]},
        Message=SIMPLE,
        ReplyToAddresses=["reply@example.com"],
    )
    message = _captured(endpoint, sent["MessageId"])
    assert message["From"] == "ops@v1.example" and message["To"] == "a@example.com" and message["Cc"] == "b@example.com"
    assert message["Bcc"] is None and message["Reply-To"] == "reply@example.com" and message["Subject"] == "Run finished"
    assert message["Message-ID"] == f"<{sent['MessageId']}@email.amazonses.com>"
    assert message.get_body(("plain",)).get_content().strip() == "All rows loaded."  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content().strip() == "<p>All rows</p>"  # type: ignore[union-attr]
    row = endpoint.shared.get("ses.mailbox", lambda: None).message(sent["MessageId"])  # type: ignore[union-attr]
    assert row.recipients == ("a@example.com", "b@example.com", "hidden@example.com") and row.relay == "none"


def test_a_verified_domain_covers_its_addresses_and_subdomains(ses: Any) -> None:
    token = ses.verify_domain_identity(Domain="Pipelines.Example")["VerificationToken"]
    assert token
    ses.send_email(Source="Bot <bot@mail.pipelines.example>", Destination={"ToAddresses": ["x@example.com"]}, Message=SIMPLE)
    attributes = ses.get_identity_verification_attributes(Identities=["pipelines.example", "nobody@nowhere.example"])
    assert attributes["VerificationAttributes"] == {"pipelines.example": {"VerificationStatus": "Success", "VerificationToken": token}}
    assert "pipelines.example" in ses.list_identities(IdentityType="Domain")["Identities"]
    assert "pipelines.example" not in ses.list_identities(IdentityType="EmailAddress")["Identities"]
    ses.delete_identity(Identity="pipelines.example")
    ses.delete_identity(Identity="pipelines.example")  # deleting what is gone succeeds
    with pytest.raises(ClientError) as excinfo:
        ses.send_email(Source="bot@pipelines.example", Destination={"ToAddresses": ["x@example.com"]}, Message=SIMPLE)
    assert _error(excinfo)[0] == "MessageRejected"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "test_invalid_name:123",
            "test",
            "Invalid tag name <test_invalid_name:123>: only alphanumeric ASCII characters, '_',  '-' are allowed.",
        ),
        (
            "test",
            "test_invalid_value:123",
            "Invalid tag value <test_invalid_value:123>: only alphanumeric ASCII characters, '_',  '-' , '.', '@' are allowed.",
        ),
        ("n" * 256, "test", "Tag name cannot exceed 255 characters."),
        ("test", "v" * 256, "Tag value cannot exceed 255 characters."),
        ("", "test", "The tag name must be specified."),
        ("test", "", "The tag value must be specified."),
    ],
)
def test_message_tags_are_checked_before_the_sender(ses: Any, name: str, value: str, message: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ses.send_email(
            Source="who@unverified.example",
            Tags=[{"Name": name, "Value": value}],
            Message=SIMPLE,
            Destination={"ToAddresses": ["a@b.example"]},
        )
    assert _error(excinfo) == ("InvalidParameterValue", message)


def test_templates_render_and_a_missing_attribute_fails_later(ses: Any, endpoint: Endpoint) -> None:
    ses.verify_email_identity(EmailAddress="tpl@v1.example")
    template = {"TemplateName": "run-report", "SubjectPart": "Run {{run.id}}", "TextPart": "Hello {{name}}", "HtmlPart": "<b>{{name}}</b>"}
    ses.create_template(Template=template)
    with pytest.raises(ClientError) as excinfo:
        ses.create_template(Template=template)
    assert _error(excinfo) == ("AlreadyExists", "Template run-report already exists.")
    assert ses.get_template(TemplateName="run-report")["Template"] == template
    assert "run-report" in [t["Name"] for t in ses.list_templates(MaxItems=100)["TemplatesMetadata"]]

    data = json.dumps({"name": "Ann & Bob", "run": {"id": 7}})
    sent = ses.send_templated_email(
        Source="tpl@v1.example", Destination={"ToAddresses": ["a@example.com"]}, Template="run-report", TemplateData=data
    )
    message = _captured(endpoint, sent["MessageId"])
    assert message["Subject"] == "Run 7"
    assert message.get_body(("plain",)).get_content().strip() == "Hello Ann & Bob"  # type: ignore[union-attr]
    # SES does not HTML-escape rendered values.
    assert message.get_body(("html",)).get_content().strip() == "<b>Ann & Bob</b>"  # type: ignore[union-attr]

    # AWS accepts a send whose data lacks an attribute and fails its rendering afterwards.
    failed = ses.send_templated_email(
        Source="tpl@v1.example", Destination={"ToAddresses": ["a@example.com"]}, Template="run-report", TemplateData="{}"
    )
    row = endpoint.shared.get("ses.mailbox", lambda: None).message(failed["MessageId"])  # type: ignore[union-attr]
    assert row.status == "render-failed" and row.file is None
    assert row.error == "Attribute 'run.id' is not present in the rendering data."

    with pytest.raises(ClientError) as excinfo:
        ses.test_render_template(TemplateName="run-report", TemplateData="{}")
    assert _error(excinfo) == ("MissingRenderingAttribute", "Attribute 'run.id' is not present in the rendering data.")
    rendered = ses.test_render_template(TemplateName="run-report", TemplateData=data)["RenderedTemplate"]
    assert "Subject: Run 7" in rendered and "Hello Ann & Bob" in rendered

    with pytest.raises(ClientError) as excinfo:
        ses.send_templated_email(
            Source="tpl@v1.example", Destination={"ToAddresses": ["a@example.com"]}, Template="nope", TemplateData="{}"
        )
    assert _error(excinfo) == ("TemplateDoesNotExist", "Template nope does not exist.")
    ses.update_template(Template={**template, "SubjectPart": "Changed"})
    assert ses.get_template(TemplateName="run-report")["Template"]["SubjectPart"] == "Changed"
    ses.delete_template(TemplateName="run-report")
    ses.delete_template(TemplateName="run-report")  # DeleteTemplate has no error for a missing template
    with pytest.raises(ClientError) as excinfo:
        ses.get_template(TemplateName="run-report")
    assert _error(excinfo) == ("TemplateDoesNotExist", "Template run-report does not exist.")


def test_bulk_templated_email_sends_one_message_per_destination(ses: Any, endpoint: Endpoint) -> None:
    ses.verify_email_identity(EmailAddress="bulk@v1.example")
    ses.create_template(Template={"TemplateName": "bulk", "SubjectPart": "Hi {{name}}", "TextPart": "{{greeting}} {{name}}"})
    answer = ses.send_bulk_templated_email(
        Source="bulk@v1.example",
        Template="bulk",
        DefaultTemplateData=json.dumps({"greeting": "Hello", "name": "you"}),
        Destinations=[
            {"Destination": {"ToAddresses": ["one@example.com"]}, "ReplacementTemplateData": json.dumps({"name": "One"})},
            {"Destination": {"ToAddresses": ["two@example.com"]}},
        ],
    )
    subjects = [_captured(endpoint, s["MessageId"])["Subject"] for s in answer["Status"]]
    assert [s["Status"] for s in answer["Status"]] == ["Success", "Success"] and subjects == ["Hi One", "Hi you"]


def test_raw_email_is_captured_with_ses_message_id_and_date(ses: Any, endpoint: Endpoint) -> None:
    ses.verify_email_identity(EmailAddress="raw@v1.example")
    head = b"From: raw@v1.example\r\nTo: dest@example.com\r\nSubject: raw one\r\nX-Custom: 1\r\n"
    raw = head + b"Message-ID: <own@raw.example>\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\nbody\r\n"
    sent = ses.send_raw_email(RawMessage={"Data": raw})
    captured = (endpoint.stack.settings.data_dir / "ses" / f"{sent['MessageId']}.eml").read_bytes()
    # SES writes its own Message-ID and Date over the message's; the rest is kept as given.
    assert captured.startswith(head) and captured.endswith(b"\r\n\r\nbody\r\n")
    message = _captured(endpoint, sent["MessageId"])
    assert message.get_all("Message-ID") == [f"<{sent['MessageId']}@email.amazonses.com>"]
    assert len(message.get_all("Date") or []) == 1 and "2001" not in message["Date"]
    row = endpoint.shared.get("ses.mailbox", lambda: None).message(sent["MessageId"])  # type: ignore[union-attr]
    assert row.recipients == ("dest@example.com",) and row.operation == "SendRawEmail"
    with pytest.raises(ClientError) as excinfo:
        ses.send_raw_email(RawMessage={"Data": b"From: x@unverified.example\r\nTo: a@b.example\r\n\r\nhi"})
    assert _error(excinfo)[0] == "MessageRejected"


def test_configuration_sets_and_the_quota(ses: Any) -> None:
    ses.verify_email_identity(EmailAddress="cs@v1.example")
    with pytest.raises(ClientError) as excinfo:
        ses.send_email(Source="cs@v1.example", Destination={"ToAddresses": ["a@b.example"]}, Message=SIMPLE, ConfigurationSetName="nope")
    assert _error(excinfo) == ("ConfigurationSetDoesNotExist", "Configuration set <nope> does not exist.")
    ses.create_configuration_set(ConfigurationSet={"Name": "tracked"})
    with pytest.raises(ClientError) as excinfo:
        ses.create_configuration_set(ConfigurationSet={"Name": "tracked"})
    assert _error(excinfo)[0] == "ConfigurationSetAlreadyExists"
    ses.send_email(Source="cs@v1.example", Destination={"ToAddresses": ["a@b.example"]}, Message=SIMPLE, ConfigurationSetName="tracked")
    assert ses.describe_configuration_set(ConfigurationSetName="tracked")["ConfigurationSet"] == {"Name": "tracked"}
    ses.delete_configuration_set(ConfigurationSetName="tracked")
    with pytest.raises(ClientError) as excinfo:
        ses.delete_configuration_set(ConfigurationSetName="tracked")
    assert _error(excinfo) == ("ConfigurationSetDoesNotExist", "Configuration set <tracked> does not exist.")
    quota = ses.get_send_quota()
    assert (quota["Max24HourSend"], quota["MaxSendRate"]) == (200.0, 1.0) and quota["SentLast24Hours"] >= 1
    assert ses.get_account_sending_enabled()["Enabled"] is True


# -- v2 ---------------------------------------------------------------------------------------------


def test_v2_identities(sesv2: Any) -> None:
    made = sesv2.create_email_identity(EmailIdentity="team@v2.example")
    assert made["IdentityType"] == "EMAIL_ADDRESS" and made["VerifiedForSendingStatus"] is True
    with pytest.raises(ClientError) as excinfo:
        sesv2.create_email_identity(EmailIdentity="team@v2.example")
    assert _error(excinfo) == ("AlreadyExistsException", "Email identity team@v2.example already exist.")
    domain = sesv2.create_email_identity(EmailIdentity="v2domain.example")
    assert domain["IdentityType"] == "DOMAIN" and domain["DkimAttributes"]["Status"] == "SUCCESS"
    got = sesv2.get_email_identity(EmailIdentity="team@v2.example")
    assert got["VerificationStatus"] == "SUCCESS" and got["VerifiedForSendingStatus"] is True
    names = {i["IdentityName"]: i for i in sesv2.list_email_identities()["EmailIdentities"]}
    assert names["v2domain.example"]["IdentityType"] == "DOMAIN" and names["team@v2.example"]["SendingEnabled"] is True
    sesv2.delete_email_identity(EmailIdentity="team@v2.example")
    with pytest.raises(ClientError) as excinfo:
        sesv2.get_email_identity(EmailIdentity="team@v2.example")
    assert _error(excinfo)[0] == "NotFoundException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as excinfo:
        sesv2.delete_email_identity(EmailIdentity="team@v2.example")
    assert _error(excinfo) == ("NotFoundException", "Email identity team@v2.example does not exist.")


def test_v2_sends_simple_raw_and_template_content(sesv2: Any, ses: Any, endpoint: Endpoint) -> None:
    sesv2.create_email_identity(EmailIdentity="sender.v2.example")
    with pytest.raises(ClientError) as excinfo:
        sesv2.send_email(FromEmailAddress="x@elsewhere.example", Destination={"ToAddresses": ["a@b.example"]}, Content={"Simple": SIMPLE})
    assert _error(excinfo)[0] == "MessageRejected"
    simple = sesv2.send_email(
        FromEmailAddress="app@sender.v2.example",
        Destination={"ToAddresses": ["a@b.example"]},
        Content={"Simple": {**SIMPLE, "Headers": [{"Name": "X-Run", "Value": "42"}]}},
    )
    message = _captured(endpoint, simple["MessageId"])
    assert message["X-Run"] == "42" and message["Subject"] == "Run finished"

    raw = b"From: app@sender.v2.example\r\nTo: r@b.example\r\nSubject: raw\r\n\r\nhi\r\n"
    sent = sesv2.send_email(Content={"Raw": {"Data": raw}})
    assert _captured(endpoint, sent["MessageId"])["Message-ID"] == f"<{sent['MessageId']}@email.amazonses.com>"

    # Templates are shared with v1.
    sesv2.create_email_template(TemplateName="v2-report", TemplateContent={"Subject": "Rows: {{rows}}", "Text": "{{rows}} rows"})
    assert ses.get_template(TemplateName="v2-report")["Template"]["SubjectPart"] == "Rows: {{rows}}"
    templated = sesv2.send_email(
        FromEmailAddress="app@sender.v2.example",
        Destination={"ToAddresses": ["a@b.example"]},
        Content={"Template": {"TemplateName": "v2-report", "TemplateData": json.dumps({"rows": 12})}},
    )
    assert _captured(endpoint, templated["MessageId"])["Subject"] == "Rows: 12"
    with pytest.raises(ClientError) as excinfo:
        sesv2.send_email(
            FromEmailAddress="app@sender.v2.example",
            Destination={"ToAddresses": ["a@b.example"]},
            Content={"Template": {"TemplateName": "missing", "TemplateData": "{}"}},
        )
    assert _error(excinfo) == ("NotFoundException", "Template missing does not exist.")

    bulk = sesv2.send_bulk_email(
        FromEmailAddress="app@sender.v2.example",
        DefaultContent={"Template": {"TemplateName": "v2-report", "TemplateData": json.dumps({"rows": 1})}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["one@b.example"]}},
            {
                "Destination": {"ToAddresses": ["two@b.example"]},
                "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps({"rows": 2})}},
            },
        ],
    )
    subjects = [_captured(endpoint, r["MessageId"])["Subject"] for r in bulk["BulkEmailEntryResults"]]
    assert subjects == ["Rows: 1", "Rows: 2"]


def test_v2_templates_and_the_account(sesv2: Any) -> None:
    sesv2.create_email_template(TemplateName="v2-crud", TemplateContent={"Subject": "S {{a}}", "Html": "<i>{{a}}</i>"})
    with pytest.raises(ClientError) as excinfo:
        sesv2.create_email_template(TemplateName="v2-crud", TemplateContent={"Subject": "S"})
    assert _error(excinfo) == ("AlreadyExistsException", "Template v2-crud already exists.")
    got = sesv2.get_email_template(TemplateName="v2-crud")
    assert got["TemplateContent"] == {"Subject": "S {{a}}", "Html": "<i>{{a}}</i>"}
    rendered = sesv2.test_render_email_template(TemplateName="v2-crud", TemplateData=json.dumps({"a": "<x>"}))["RenderedTemplate"]
    assert "<i><x></i>" in rendered  # not escaped, as SES renders
    with pytest.raises(ClientError) as excinfo:
        sesv2.test_render_email_template(TemplateName="v2-crud", TemplateData="{}")
    assert _error(excinfo) == ("BadRequestException", "Attribute 'a' is not present in the rendering data.")
    sesv2.update_email_template(TemplateName="v2-crud", TemplateContent={"Subject": "New"})
    assert sesv2.get_email_template(TemplateName="v2-crud")["TemplateContent"] == {"Subject": "New"}
    assert "v2-crud" in [t["TemplateName"] for t in sesv2.list_email_templates(PageSize=100)["TemplatesMetadata"]]
    sesv2.delete_email_template(TemplateName="v2-crud")
    with pytest.raises(ClientError) as excinfo:
        sesv2.delete_email_template(TemplateName="v2-crud")
    assert _error(excinfo) == ("NotFoundException", "Template v2-crud does not exist.")
    account = sesv2.get_account()
    assert account["ProductionAccessEnabled"] is True and account["SendingEnabled"] is True
    assert account["SendQuota"]["Max24HourSend"] == 200.0
    sesv2.create_configuration_set(ConfigurationSetName="v2-set", SendingOptions={"SendingEnabled": True})
    assert sesv2.get_configuration_set(ConfigurationSetName="v2-set")["SendingOptions"] == {"SendingEnabled": True}
    assert "v2-set" in sesv2.list_configuration_sets()["ConfigurationSets"]
    sesv2.delete_configuration_set(ConfigurationSetName="v2-set")
