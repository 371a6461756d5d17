"""Amazon SES v1 (query protocol, ``Action=SendEmail``): sending, identities, templates, configuration sets.

Every message SES accepts is captured under ``<data>/ses/<message-id>.eml`` and listed in the
state database, then relayed to the configured SMTP server (see :mod:`._ses_common` for the
sandbox and verification rules). A templated send renders when it is accepted; a template the
data cannot fill is accepted all the same, as on AWS (whose rendering fails later, as a
RenderingFailure event), and is captured as ``render-failed`` without a file.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from ...backends.local.ses import EmailTemplate
from ...errors import ConflictError, NotFoundError
from ...messaging.ses_messages import Formatted, MessageFormatError, build_message, replace_identity_headers
from ...messaging.ses_templates import MissingAttributeError, RenderingError, parse_data, render_parts
from ..context import Context, Operations
from ._ses_common import (
    MAX_24_HOUR_SEND,
    MAX_SEND_RATE,
    SesRefusal,
    accept,
    address_of,
    addresses_of,
    catalog,
    check_configuration_set,
    check_message_size,
    check_recipients,
    check_senders,
    check_tags,
    header_recipients,
    now_ms,
    raw_senders,
    refusals,
    sent_last_24_hours,
)

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("ses")

_CODES: Final = {
    "invalid": ("InvalidParameterValue", 400),
    "rejected": ("MessageRejected", 400),
    "template-missing": ("TemplateDoesNotExist", 400),
    "template-exists": ("AlreadyExists", 400),
    "template-invalid": ("InvalidTemplate", 400),
    "config-set-missing": ("ConfigurationSetDoesNotExist", 400),
    "config-set-exists": ("ConfigurationSetAlreadyExists", 400),
    "rendering": ("InvalidRenderingParameter", 400),
    "missing-attribute": ("MissingRenderingAttribute", 400),
}
_operation = refusals(OPERATIONS, _CODES)
T = TypeVar("T")
#: SES v1's largest message (SendRawEmail's documented 10 MB, counted in bytes).
MAX_MESSAGE_BYTES: Final = 10 * 1024 * 1024
#: Destinations of one SendBulkTemplatedEmail.
MAX_DESTINATIONS: Final = 50


def _time(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def _page(items: Sequence[T], params: dict[str, Any], default: int, most: int) -> tuple[list[T], str | None]:
    """One page of ``items`` from ``NextToken`` (an offset), at most ``MaxItems``.

    A MaxItems above ``most`` is lowered to it, as the model documents for ListTemplates; one
    below 1 is refused.
    """
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            start = -1
        if start < 0:
            raise SesRefusal("invalid", "Invalid token") from None
    size = params.get("MaxItems")
    if size is not None and size < 1:
        raise SesRefusal("invalid", f"MaxItems must be between 1 and {most}.")
    size = min(size or default, most)
    page = list(items[start : start + size])
    following = start + size
    token = base64.urlsafe_b64encode(str(following).encode()).decode() if following < len(items) else None
    return page, token


# -- identities ---------------------------------------------------------------------------------


@_operation("VerifyEmailIdentity")
def verify_email_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    address = address_of(params["EmailAddress"])
    catalog(ctx).add_identity(ctx.region, address, "EmailAddress", token=None, now_ms=now_ms(ctx))
    return {}


@_operation("VerifyEmailAddress")
def verify_email_address(ctx: Context, params: dict[str, Any]) -> None:
    verify_email_identity(ctx, params)


@_operation("VerifyDomainIdentity")
def verify_domain_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    domain = params["Domain"].strip().lower()
    if not domain or "@" in domain:
        raise SesRefusal("invalid", f"Invalid domain name {params['Domain']}.")
    token = base64.b64encode(secrets.token_bytes(32)).decode()
    made = catalog(ctx).add_identity(ctx.region, domain, "Domain", token=token, now_ms=now_ms(ctx))
    return {"VerificationToken": made.token}


@_operation("ListIdentities")
def list_identities(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    kind = params.get("IdentityType")
    if kind is not None and kind not in ("EmailAddress", "Domain"):
        raise SesRefusal("invalid", f"Invalid identity type: {kind}")
    found = [i.identity for i in catalog(ctx).identities(ctx.region, kind)]
    page, token = _page(found, params, 1000, 1000)
    return {"Identities": page, **({"NextToken": token} if token else {})}


@_operation("ListVerifiedEmailAddresses")
def list_verified_email_addresses(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"VerifiedEmailAddresses": [i.identity for i in catalog(ctx).identities(ctx.region, "EmailAddress")]}


@_operation("GetIdentityVerificationAttributes")
def get_identity_verification_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # Identities SES does not know are left out of the answer, not refused.
    attributes: dict[str, Any] = {}
    for name in params["Identities"]:
        found = catalog(ctx).identity(ctx.region, name.lower() if "@" not in name else name)
        if found is not None:
            attributes[name] = {"VerificationStatus": "Success", **({"VerificationToken": found.token} if found.token else {})}
    return {"VerificationAttributes": attributes}


@_operation("DeleteIdentity")
def delete_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # Deleting an identity SES does not have succeeds (the model lists no error for it).
    name = params["Identity"]
    catalog(ctx).delete_identity(ctx.region, name if "@" in name else name.lower())
    return {}


@_operation("DeleteVerifiedEmailAddress")
def delete_verified_email_address(ctx: Context, params: dict[str, Any]) -> None:
    catalog(ctx).delete_identity(ctx.region, params["EmailAddress"])


# -- templates ----------------------------------------------------------------------------------


def _template(params: dict[str, Any], created_ms: int) -> EmailTemplate:
    given = params["Template"]
    name = given.get("TemplateName") or ""
    if not name:
        raise SesRefusal("template-invalid", "Template name must be specified.")
    if not given.get("SubjectPart"):
        raise SesRefusal("invalid", "The subject must be specified.")
    return EmailTemplate(name, given.get("SubjectPart"), given.get("TextPart"), given.get("HtmlPart"), created_ms)


def must_template(ctx: Context, name: str) -> EmailTemplate:
    found = catalog(ctx).template(ctx.region, name)
    if found is None:
        raise SesRefusal("template-missing", f"Template {name} does not exist.")
    return found


@_operation("CreateTemplate")
def create_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    template = _template(params, now_ms(ctx))
    try:
        catalog(ctx).create_template(ctx.region, template)
    except ConflictError:
        raise SesRefusal("template-exists", f"Template {template.name} already exists.") from None
    return {}


@_operation("UpdateTemplate")
def update_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    template = _template(params, 0)
    try:
        catalog(ctx).update_template(ctx.region, template)
    except NotFoundError:
        raise SesRefusal("template-missing", f"Template {template.name} does not exist.") from None
    return {}


@_operation("GetTemplate")
def get_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = must_template(ctx, params["TemplateName"])
    parts = {"SubjectPart": found.subject, "TextPart": found.text, "HtmlPart": found.html}
    return {"Template": {"TemplateName": found.name, **{k: v for k, v in parts.items() if v is not None}}}


@_operation("DeleteTemplate")
def delete_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # DeleteTemplate of a template that is not there succeeds (its model lists no error).
    catalog(ctx).delete_template(ctx.region, params["TemplateName"])
    return {}


@_operation("ListTemplates")
def list_templates(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = catalog(ctx).templates(ctx.region)
    page, token = _page(found, params, 10, 100)
    listed = [{"Name": t.name, "CreatedTimestamp": _time(t.created_ms)} for t in page]
    return {"TemplatesMetadata": listed, **({"NextToken": token} if token else {})}


@_operation("TestRenderTemplate")
def test_render_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    template = must_template(ctx, params["TemplateName"])
    try:
        data = parse_data(params["TemplateData"])
    except RenderingError:
        raise SesRefusal("rendering", "Template rendering data is invalid") from None
    try:
        parts = render_parts(template.subject, template.text, template.html, data)
    except MissingAttributeError as exc:
        raise SesRefusal("missing-attribute", str(exc)) from None
    except RenderingError as exc:
        raise SesRefusal("rendering", str(exc)) from None
    formatted = Formatted(source="", subject=parts.subject, text=parts.text, html=parts.html)
    try:
        rendered = build_message(formatted, message_id="rendered", date=ctx.stack.local.clock.now())
    except MessageFormatError as exc:
        # A value that breaks the Subject header is bad rendering data, not a bad request.
        raise SesRefusal("rendering", str(exc)) from None
    # SES answers the MIME message without the headers only a send has.
    body = b"\r\n".join(line for line in rendered.split(b"\r\n") if not line.startswith((b"From:", b"Message-ID:", b"Date:")))
    return {"RenderedTemplate": body.decode("utf-8", "replace")}


# -- configuration sets -------------------------------------------------------------------------


@_operation("CreateConfigurationSet")
def create_configuration_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ConfigurationSet"]["Name"]
    try:
        catalog(ctx).create_configuration_set(ctx.region, name, {}, now_ms=now_ms(ctx))
    except ConflictError:
        raise SesRefusal("config-set-exists", f"Configuration set <{name}> already exists.") from None
    return {}


@_operation("DescribeConfigurationSet")
def describe_configuration_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ConfigurationSetName"]
    check_configuration_set(ctx, name)
    return {"ConfigurationSet": {"Name": name}}


@_operation("DeleteConfigurationSet")
def delete_configuration_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ConfigurationSetName"]
    if not catalog(ctx).delete_configuration_set(ctx.region, name):
        raise SesRefusal("config-set-missing", f"Configuration set <{name}> does not exist.")
    return {}


@_operation("ListConfigurationSets")
def list_configuration_sets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = [c.name for c in catalog(ctx).configuration_sets(ctx.region)]
    page, token = _page(found, params, 1000, 1000)
    return {"ConfigurationSets": [{"Name": n} for n in page], **({"NextToken": token} if token else {})}


# -- the account --------------------------------------------------------------------------------


@_operation("GetSendQuota")
def get_send_quota(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Max24HourSend": MAX_24_HOUR_SEND, "MaxSendRate": MAX_SEND_RATE, "SentLast24Hours": float(sent_last_24_hours(ctx))}


@_operation("GetAccountSendingEnabled")
def get_account_sending_enabled(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Enabled": True}


# -- sending ------------------------------------------------------------------------------------


def _destination(given: dict[str, Any] | None) -> tuple[list[str], list[str], list[str]]:
    given = given or {}
    return list(given.get("ToAddresses") or ()), list(given.get("CcAddresses") or ()), list(given.get("BccAddresses") or ())


def _check_send(ctx: Context, params: dict[str, Any], recipients: Sequence[str], *, tags: str = "Tags") -> None:
    check_tags(params.get(tags))
    check_recipients(recipients)
    addresses_of(params.get("ReplyToAddresses") or ())
    check_senders(ctx, [params["Source"]])
    check_configuration_set(ctx, params.get("ConfigurationSetName"))


@_operation("SendEmail")
def send_email(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    to, cc, bcc = _destination(params.get("Destination"))
    _check_send(ctx, params, to + cc + bcc)
    message = params["Message"]
    body = message.get("Body") or {}
    subject = (message.get("Subject") or {}).get("Data")
    text, html_part = body.get("Text"), body.get("Html")
    formatted = Formatted(
        source=params["Source"],
        to=to,
        cc=cc,
        reply_to=params.get("ReplyToAddresses") or (),
        subject=subject,
        text=text.get("Data") if text else None,
        html=html_part.get("Data") if html_part else None,
        charset=(text or html_part or message.get("Subject") or {}).get("Charset") or "utf-8",
    )
    clock = ctx.stack.local.clock
    message_id = accept(
        ctx,
        operation="SendEmail",
        source=params["Source"],
        recipients=addresses_of(to + cc + bcc),
        subject=subject,
        build=lambda mid: build_message(formatted, message_id=mid, date=clock.now()),
    )
    return {"MessageId": message_id}


@_operation("SendRawEmail")
def send_raw_email(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    raw: bytes = params["RawMessage"]["Data"]
    check_message_size(raw, MAX_MESSAGE_BYTES)
    header_from, header_to = header_recipients(raw)
    source = params.get("Source") or header_from
    if not source:
        raise SesRefusal("invalid", "Missing required header 'From'.")
    recipients = list(params.get("Destinations") or header_to)
    if not recipients:
        raise SesRefusal("invalid", "Missing final '@domain'")
    check_tags(params.get("Tags"))
    check_recipients(recipients)
    # Every sender the message names must be verified, not only the one the call gives.
    check_senders(ctx, list(dict.fromkeys([source, *raw_senders(raw)])))
    check_configuration_set(ctx, params.get("ConfigurationSetName"))
    clock = ctx.stack.local.clock
    message_id = accept(
        ctx,
        operation="SendRawEmail",
        source=source,
        recipients=addresses_of(recipients),
        subject=None,
        # SES writes its own Message-ID and Date over the message's (its "header fields" page).
        build=lambda mid: replace_identity_headers(raw, message_id=mid, date=clock.now()),
    )
    return {"MessageId": message_id}


def _render_and_accept(
    ctx: Context,
    *,
    operation: str,
    template: EmailTemplate,
    data_text: str,
    source: str,
    to: list[str],
    cc: list[str],
    bcc: list[str],
    reply_to: Sequence[str],
) -> str:
    error: str | None = None
    formatted: Formatted | None = None
    try:
        parts = render_parts(template.subject, template.text, template.html, parse_data(data_text))
        formatted = Formatted(source=source, to=to, cc=cc, reply_to=reply_to, subject=parts.subject, text=parts.text, html=parts.html)
    except RenderingError as exc:
        error = str(exc)
    clock = ctx.stack.local.clock
    return accept(
        ctx,
        operation=operation,
        source=source,
        recipients=addresses_of(to + cc + bcc),
        subject=formatted.subject if formatted else template.subject,
        build=lambda mid: build_message(formatted, message_id=mid, date=clock.now()) if formatted else None,
        error=error,
        rendered=True,
    )


def _template_name(params: dict[str, Any]) -> str:
    name = params.get("Template")
    if not name and params.get("TemplateArn"):
        name = str(params["TemplateArn"]).rsplit("template/", 1)[-1]
    if not name:
        raise SesRefusal("invalid", "Template name must be specified.")
    return str(name)


@_operation("SendTemplatedEmail")
def send_templated_email(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    to, cc, bcc = _destination(params.get("Destination"))
    _check_send(ctx, params, to + cc + bcc)
    template = must_template(ctx, _template_name(params))
    message_id = _render_and_accept(
        ctx,
        operation="SendTemplatedEmail",
        template=template,
        data_text=params["TemplateData"],
        source=params["Source"],
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=params.get("ReplyToAddresses") or (),
    )
    return {"MessageId": message_id}


@_operation("SendBulkTemplatedEmail")
def send_bulk_templated_email(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    destinations = params["Destinations"]
    if len(destinations) > MAX_DESTINATIONS:
        raise SesRefusal("invalid", f"Destination count exceeds {MAX_DESTINATIONS}.")
    check_tags(params.get("DefaultTags"))
    for entry in destinations:
        check_tags(entry.get("ReplacementTags"))
        # The 50 recipients are a message's: each destination is one message.
        check_recipients([a for group in _destination(entry.get("Destination")) for a in group])
    _check_send(ctx, params, [], tags="DefaultTags")
    template = must_template(ctx, _template_name(params))
    default_data = params.get("DefaultTemplateData") or "{}"
    status = []
    for entry in destinations:
        to, cc, bcc = _destination(entry.get("Destination"))
        data_text = _merged_data(default_data, entry.get("ReplacementTemplateData"))
        message_id = _render_and_accept(
            ctx,
            operation="SendBulkTemplatedEmail",
            template=template,
            data_text=data_text,
            source=params["Source"],
            to=to,
            cc=cc,
            bcc=bcc,
            reply_to=params.get("ReplyToAddresses") or (),
        )
        status.append({"Status": "Success", "MessageId": message_id})
    return {"Status": status}


def _merged_data(default: str, replacement: str | None) -> str:
    """A destination's data: the default's attributes with its replacement's on top."""
    import json

    if not replacement:
        return default
    try:
        base, extra = parse_data(default), parse_data(replacement)
    except RenderingError:
        return replacement  # rendered (and failed) as it is
    return json.dumps({**base, **extra})
