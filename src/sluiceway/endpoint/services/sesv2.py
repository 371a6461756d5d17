"""Amazon SES v2 (rest-json, ``/v2/email/...``): SendEmail (simple, raw, template), SendBulkEmail,
email identities, email templates, configuration sets and the account.

The same identities, templates, configuration sets and captured messages as v1 (see
:mod:`.ses` and :mod:`._ses_common`), answered in v2's shapes and error codes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from ...backends.local.ses import EmailTemplate, Identity
from ...errors import ConflictError, NotFoundError
from ...messaging.ses_messages import Attachment, Formatted, MessageFormatError, build_message, replace_identity_headers
from ...messaging.ses_templates import MissingAttributeError, RenderingError, parse_data, render_parts
from ..context import Context, Handler, Operations
from ..protocol.constraints import check_constraints
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

OPERATIONS = Operations("sesv2")

_CODES: Final = {
    "invalid": ("BadRequestException", 400),
    "rejected": ("MessageRejected", 400),
    "template-missing": ("NotFoundException", 404),
    "template-exists": ("AlreadyExistsException", 400),
    "template-invalid": ("BadRequestException", 400),
    "config-set-missing": ("NotFoundException", 404),
    "config-set-exists": ("AlreadyExistsException", 400),
    "identity-missing": ("NotFoundException", 404),
    "identity-exists": ("AlreadyExistsException", 400),
    "rendering": ("BadRequestException", 400),
    "missing-attribute": ("BadRequestException", 400),
}
_registrar = refusals(OPERATIONS, _CODES)
T = TypeVar("T")
#: SES v2's largest message (40 MB, SendEmail's documented limit, in bytes).
MAX_MESSAGE_BYTES: Final = 40 * 1024 * 1024
_HEADER_NAME: Final = re.compile(r"^[!-9;-~]{1,126}$")
_HEADER_VALUE: Final = re.compile(r"^[ -~]{1,995}$")
_MIME_TYPE: Final = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
#: Entries of one SendBulkEmail.
MAX_BULK_ENTRIES: Final = 50


def _operation(name: str) -> Callable[[Handler], Handler]:
    """Register a v2 operation whose requests are first checked against the model's constraints
    (header names and values, attachment types...), refused as v2 refuses them."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def checked(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            check_constraints("sesv2", name, params, code="BadRequestException")
            return handler(ctx, params)

        return _registrar(name)(checked)

    return register


def _time(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def _page(items: Sequence[T], params: dict[str, Any], default: int, most: int) -> tuple[list[T], str | None]:
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            start = -1
        if start < 0:
            raise SesRefusal("invalid", "Invalid NextToken")
    size = params.get("PageSize")
    if size is not None and not 1 <= size <= most:
        raise SesRefusal("invalid", f"PageSize must be between 1 and {most}")
    size = size or default
    following = start + size
    token = base64.urlsafe_b64encode(str(following).encode()).decode() if following < len(items) else None
    return list(items[start:following]), token


# -- identities ---------------------------------------------------------------------------------


def _kind(identity: Identity) -> str:
    return "EMAIL_ADDRESS" if identity.kind == "EmailAddress" else "DOMAIN"


def _dkim_tokens() -> tuple[str, ...]:
    # Easy DKIM's three tokens: 32 lowercase letters and digits each, a DNS label's characters.
    return tuple(secrets.token_hex(16) for _ in range(3))


def _with_dkim(ctx: Context, identity: Identity) -> Identity:
    """``identity`` with its DKIM tokens, made now for a domain verified through v1 (which has none yet)."""
    if identity.kind != "Domain" or identity.dkim_tokens:
        return identity
    tokens = _dkim_tokens()
    catalog(ctx).set_dkim_tokens(ctx.region, identity.identity, tokens)
    return Identity(identity.identity, identity.kind, identity.token, identity.created_ms, tokens)


def _dkim(identity: Identity) -> dict[str, Any]:
    # Locally a domain's DKIM is verified at once, as its identity is; an address has none of its own.
    if identity.kind == "EmailAddress":
        return {"SigningEnabled": False, "Status": "NOT_STARTED", "SigningAttributesOrigin": "AWS_SES"}
    return {
        "SigningEnabled": True,
        "Status": "SUCCESS",
        "Tokens": list(identity.dkim_tokens),
        "SigningAttributesOrigin": "AWS_SES",
        "NextSigningKeyLength": "RSA_2048_BIT",
        "CurrentSigningKeyLength": "RSA_2048_BIT",
    }


def _identity_name(given: str) -> tuple[str, str]:
    """The stored name and kind of ``given``: an address as given, a domain in lower case."""
    if "@" in given:
        return address_of(given), "EmailAddress"
    domain = given.strip().lower()
    if not domain:
        raise SesRefusal("invalid", "Email identity cannot be empty.")
    return domain, "Domain"


@_operation("CreateEmailIdentity")
def create_email_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    given = params["EmailIdentity"]
    name, kind = _identity_name(given)
    if catalog(ctx).identity(ctx.region, name) is not None:
        # AWS's own grammar.
        raise SesRefusal("identity-exists", f"Email identity {given} already exist.")
    check_configuration_set(ctx, params.get("ConfigurationSetName"))
    domain = kind == "Domain"
    token = base64.b64encode(secrets.token_bytes(32)).decode() if domain else None
    made = catalog(ctx).add_identity(
        ctx.region,
        name,
        kind,  # type: ignore[arg-type]
        token=token,
        now_ms=now_ms(ctx),
        dkim_tokens=_dkim_tokens() if domain else (),
    )
    _keep_tags(ctx, f"identity/{name}", params)
    return {"IdentityType": _kind(made), "VerifiedForSendingStatus": True, "DkimAttributes": _dkim(made)}


def _must_identity(ctx: Context, given: str, wording: str) -> Identity:
    name = given if "@" in given else given.strip().lower()
    found = catalog(ctx).identity(ctx.region, name)
    if found is None:
        raise SesRefusal("identity-missing", f"{wording} {given} does not exist.")
    return found


def _keep_tags(ctx: Context, resource: str, params: dict[str, Any]) -> None:
    # Tags given to a Create* call are the resource's, returned by its Get* (TagResource is not served).
    if params.get("Tags"):
        catalog(ctx).set_tags(ctx.region, resource, list(params["Tags"]))


@_operation("GetEmailIdentity")
def get_email_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = _with_dkim(ctx, _must_identity(ctx, params["EmailIdentity"], "Identity"))
    return {
        "IdentityType": _kind(found),
        "FeedbackForwardingStatus": True,
        "VerifiedForSendingStatus": True,
        "DkimAttributes": _dkim(found),
        "MailFromAttributes": {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"},
        "Policies": {},
        "Tags": catalog(ctx).tags(ctx.region, f"identity/{found.identity}"),
        "VerificationStatus": "SUCCESS",
        "VerificationInfo": {"LastCheckedTimestamp": _time(found.created_ms), "LastSuccessTimestamp": _time(found.created_ms)},
    }


@_operation("DeleteEmailIdentity")
def delete_email_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = _must_identity(ctx, params["EmailIdentity"], "Email identity")
    catalog(ctx).delete_identity(ctx.region, found.identity)
    return {}


@_operation("ListEmailIdentities")
def list_email_identities(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = catalog(ctx).identities(ctx.region)
    page, token = _page(found, params, 100, 1000)
    listed = [{"IdentityType": _kind(i), "IdentityName": i.identity, "SendingEnabled": True, "VerificationStatus": "SUCCESS"} for i in page]
    return {"EmailIdentities": listed, **({"NextToken": token} if token else {})}


# -- templates ----------------------------------------------------------------------------------


def _content(name: str, content: dict[str, Any], created_ms: int) -> EmailTemplate:
    if not any(content.get(k) for k in ("Subject", "Text", "Html")):
        raise SesRefusal("template-invalid", "Template content must have at least a subject, text, or html part.")
    return EmailTemplate(name, content.get("Subject"), content.get("Text"), content.get("Html"), created_ms)


def _must_template(ctx: Context, name: str) -> EmailTemplate:
    found = catalog(ctx).template(ctx.region, name)
    if found is None:
        raise SesRefusal("template-missing", f"Template {name} does not exist.")
    return found


@_operation("CreateEmailTemplate")
def create_email_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    template = _content(params["TemplateName"], params["TemplateContent"], now_ms(ctx))
    try:
        catalog(ctx).create_template(ctx.region, template)
    except ConflictError:
        raise SesRefusal("template-exists", f"Template {template.name} already exists.") from None
    _keep_tags(ctx, f"template/{template.name}", params)
    return {}


@_operation("UpdateEmailTemplate")
def update_email_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    template = _content(params["TemplateName"], params["TemplateContent"], 0)
    try:
        catalog(ctx).update_template(ctx.region, template)
    except NotFoundError:
        raise SesRefusal("template-missing", f"Template {template.name} does not exist.") from None
    return {}


@_operation("GetEmailTemplate")
def get_email_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = _must_template(ctx, params["TemplateName"])
    content = {"Subject": found.subject, "Text": found.text, "Html": found.html}
    tags = catalog(ctx).tags(ctx.region, f"template/{found.name}")
    return {"TemplateName": found.name, "TemplateContent": {k: v for k, v in content.items() if v is not None}, "Tags": tags}


@_operation("DeleteEmailTemplate")
def delete_email_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # v2 refuses to delete a template that is not there (v1's DeleteTemplate does not).
    name = params["TemplateName"]
    if not catalog(ctx).delete_template(ctx.region, name):
        raise SesRefusal("template-missing", f"Template {name} does not exist.")
    return {}


@_operation("ListEmailTemplates")
def list_email_templates(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page, token = _page(catalog(ctx).templates(ctx.region), params, 10, 100)
    listed = [{"TemplateName": t.name, "CreatedTimestamp": _time(t.created_ms)} for t in page]
    return {"TemplatesMetadata": listed, **({"NextToken": token} if token else {})}


@_operation("TestRenderEmailTemplate")
def test_render_email_template(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    template = _must_template(ctx, params["TemplateName"])
    try:
        parts = render_parts(template.subject, template.text, template.html, parse_data(params["TemplateData"]))
        rendered = build_message(
            Formatted(source="", subject=parts.subject, text=parts.text, html=parts.html),
            message_id="rendered",
            date=ctx.stack.local.clock.now(),
        )
    except MissingAttributeError as exc:
        raise SesRefusal("missing-attribute", str(exc)) from None
    except (RenderingError, MessageFormatError) as exc:
        # A value that breaks the Subject header is bad rendering data too.
        raise SesRefusal("rendering", str(exc)) from None
    body = b"\r\n".join(line for line in rendered.split(b"\r\n") if not line.startswith((b"From:", b"Message-ID:", b"Date:")))
    return {"RenderedTemplate": body.decode("utf-8", "replace")}


# -- configuration sets -------------------------------------------------------------------------

_SET_OPTIONS: Final = (
    "TrackingOptions",
    "DeliveryOptions",
    "ReputationOptions",
    "SendingOptions",
    "SuppressionOptions",
    "VdmOptions",
    "ArchivingOptions",
)


@_operation("CreateConfigurationSet")
def create_configuration_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ConfigurationSetName"]
    body = {key: params[key] for key in _SET_OPTIONS if params.get(key) is not None}
    try:
        catalog(ctx).create_configuration_set(ctx.region, name, body, now_ms=now_ms(ctx))
    except ConflictError:
        raise SesRefusal("config-set-exists", f"Configuration set <{name}> already exists.") from None
    _keep_tags(ctx, f"configuration-set/{name}", params)
    return {}


@_operation("GetConfigurationSet")
def get_configuration_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ConfigurationSetName"]
    found = catalog(ctx).configuration_set(ctx.region, name)
    if found is None:
        raise SesRefusal("config-set-missing", f"Configuration set <{name}> does not exist.")
    tags = catalog(ctx).tags(ctx.region, f"configuration-set/{found.name}")
    return {"ConfigurationSetName": found.name, "Tags": tags, **found.body}


@_operation("DeleteConfigurationSet")
def delete_configuration_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ConfigurationSetName"]
    if not catalog(ctx).delete_configuration_set(ctx.region, name):
        raise SesRefusal("config-set-missing", f"Configuration set <{name}> does not exist.")
    return {}


@_operation("ListConfigurationSets")
def list_configuration_sets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page, token = _page([c.name for c in catalog(ctx).configuration_sets(ctx.region)], params, 100, 1000)
    return {"ConfigurationSets": page, **({"NextToken": token} if token else {})}


# -- the account --------------------------------------------------------------------------------


@_operation("GetAccount")
def get_account(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": True,
        "SendQuota": {"Max24HourSend": MAX_24_HOUR_SEND, "MaxSendRate": MAX_SEND_RATE, "SentLast24Hours": float(sent_last_24_hours(ctx))},
        "SendingEnabled": True,
        "SuppressionAttributes": {"SuppressedReasons": []},
    }


# -- sending ------------------------------------------------------------------------------------


def _destination(given: dict[str, Any] | None) -> tuple[list[str], list[str], list[str]]:
    given = given or {}
    return list(given.get("ToAddresses") or ()), list(given.get("CcAddresses") or ()), list(given.get("BccAddresses") or ())


def _headers(given: Sequence[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    """Headers as the model constrains them (the constraint check does not reach this deep):
    a name of printable ASCII without a colon, a value of printable ASCII (no line break)."""
    for header in given or ():
        name, value = header["Name"], header["Value"]
        if not _HEADER_NAME.match(name):
            raise SesRefusal("invalid", f"Invalid header name: {name}")
        if not _HEADER_VALUE.match(value):
            raise SesRefusal("invalid", f"Invalid value for header {name}: it must be printable ASCII on one line.")
    return tuple((h["Name"], h["Value"]) for h in given or ())


def _attachments(given: Sequence[dict[str, Any]] | None) -> tuple[Attachment, ...]:
    for attachment in given or ():
        content_type = attachment.get("ContentType")
        if content_type is not None and not _MIME_TYPE.match(content_type):
            raise SesRefusal("invalid", f"Invalid content type: {content_type}")
    return tuple(
        Attachment(
            raw=a["RawContent"],
            file_name=a["FileName"],
            content_type=a.get("ContentType"),
            disposition=a.get("ContentDisposition") or "ATTACHMENT",
            content_id=a.get("ContentId"),
            description=a.get("ContentDescription"),
            transfer_encoding=a.get("ContentTransferEncoding") or "BASE64",
        )
        for a in given or ()
    )


def _template_of(ctx: Context, given: dict[str, Any]) -> EmailTemplate:
    if given.get("TemplateContent"):
        return _content("inline", given["TemplateContent"], 0)
    name = given.get("TemplateName") or str(given.get("TemplateArn") or "").rsplit("template/", 1)[-1]
    if not name:
        raise SesRefusal("invalid", "Template name or ARN must be specified.")
    return _must_template(ctx, name)


def _sender(params: dict[str, Any], raw: bytes | None) -> str:
    sender = params.get("FromEmailAddress")
    if sender is None and raw is not None:
        sender = header_recipients(raw)[0]
    if not sender:
        raise SesRefusal("invalid", "Missing required header 'From'.")
    return str(sender)


@_operation("SendEmail")
def send_email(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    content = params["Content"]
    to, cc, bcc = _destination(params.get("Destination"))
    raw: bytes | None = (content.get("Raw") or {}).get("Data")
    if raw is not None:
        check_message_size(raw, MAX_MESSAGE_BYTES)
    sender = _sender(params, raw)
    if raw is not None and not (to or cc or bcc):
        to = header_recipients(raw)[1]
    check_tags(params.get("EmailTags"))
    recipients = check_recipients(to + cc + bcc)
    if not recipients:
        raise SesRefusal("invalid", "Missing final '@domain'")
    reply_to = params.get("ReplyToAddresses") or ()
    addresses_of(reply_to)
    # A raw message's own senders (From, Sender, Return-Path) must be verified as well.
    check_senders(ctx, list(dict.fromkeys([sender, *(raw_senders(raw) if raw is not None else ())])))
    check_configuration_set(ctx, params.get("ConfigurationSetName"))
    clock = ctx.stack.local.clock
    if raw is not None:
        given = raw
        message_id = accept(
            ctx,
            operation="SendEmail",
            source=sender,
            recipients=recipients,
            subject=None,
            # SES writes its own Message-ID and Date over the message's.
            build=lambda mid: replace_identity_headers(given, message_id=mid, date=clock.now()),
        )
    elif content.get("Simple"):
        simple = content["Simple"]
        subject, body = simple.get("Subject") or {}, simple.get("Body") or {}
        text, html_part = body.get("Text"), body.get("Html")
        formatted = Formatted(
            source=sender,
            to=to,
            cc=cc,
            reply_to=reply_to,
            subject=subject.get("Data"),
            text=text.get("Data") if text else None,
            html=html_part.get("Data") if html_part else None,
            charset=(text or html_part or subject).get("Charset") or "utf-8",
            headers=_headers(simple.get("Headers")),
            attachments=_attachments(simple.get("Attachments")),
        )
        message_id = accept(
            ctx,
            operation="SendEmail",
            source=sender,
            recipients=recipients,
            subject=formatted.subject,
            build=lambda mid: _sized(build_message(formatted, message_id=mid, date=clock.now())),
        )
    elif content.get("Template"):
        given_template = content["Template"]
        message_id = _send_template(
            ctx,
            _template_of(ctx, given_template),
            given_template.get("TemplateData") or "{}",
            sender,
            (to, cc, bcc),
            reply_to,
            given_template.get("Headers"),
            attachments=_attachments(given_template.get("Attachments")),
        )
    else:
        raise SesRefusal("invalid", "Content must contain one of Simple, Raw or Template.")
    return {"MessageId": message_id}


def _sized(raw: bytes) -> bytes:
    """A message SES made, refused when (with its attachments) it is larger than v2 takes."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageFormatError(f"Message length is more than {MAX_MESSAGE_BYTES} bytes long: '{len(raw)}'.")
    return raw


def _send_template(
    ctx: Context,
    template: EmailTemplate,
    data_text: str,
    sender: str,
    destination: tuple[list[str], list[str], list[str]],
    reply_to: Sequence[str],
    headers: Sequence[dict[str, str]] | None,
    operation: str = "SendEmail",
    attachments: tuple[Attachment, ...] = (),
) -> str:
    to, cc, bcc = destination
    error: str | None = None
    formatted: Formatted | None = None
    try:
        parts = render_parts(template.subject, template.text, template.html, parse_data(data_text))
        formatted = Formatted(
            source=sender,
            to=to,
            cc=cc,
            reply_to=reply_to,
            subject=parts.subject,
            text=parts.text,
            html=parts.html,
            headers=_headers(headers),
            attachments=attachments,
        )
    except RenderingError as exc:
        # Accepted all the same: AWS renders after answering and reports a RenderingFailure event.
        error = str(exc)
    clock = ctx.stack.local.clock
    return accept(
        ctx,
        operation=operation,
        source=sender,
        recipients=addresses_of(to + cc + bcc),
        subject=formatted.subject if formatted else template.subject,
        build=lambda mid: build_message(formatted, message_id=mid, date=clock.now()) if formatted else None,
        error=error,
        rendered=True,
    )


@_operation("SendBulkEmail")
def send_bulk_email(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    given = (params.get("DefaultContent") or {}).get("Template")
    if not given:
        raise SesRefusal("invalid", "DefaultContent must contain a Template.")
    sender = _sender(params, None)
    entries = params["BulkEmailEntries"]
    if len(entries) > MAX_BULK_ENTRIES:
        raise SesRefusal("invalid", f"Destination count exceeds {MAX_BULK_ENTRIES}.")
    check_tags(params.get("DefaultEmailTags"))
    for entry in entries:
        check_tags(entry.get("ReplacementTags"))
        check_recipients([a for group in _destination(entry.get("Destination")) for a in group])
        _headers([*(given.get("Headers") or ()), *(entry.get("ReplacementHeaders") or ())])
    addresses_of(params.get("ReplyToAddresses") or ())
    check_senders(ctx, [sender])
    check_configuration_set(ctx, params.get("ConfigurationSetName"))
    template = _template_of(ctx, given)
    default = given.get("TemplateData") or "{}"
    attachments = _attachments(given.get("Attachments"))
    results = []
    for entry in entries:
        replacement = ((entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {}).get("ReplacementTemplateData")
        message_id = _send_template(
            ctx,
            template,
            _merged(default, replacement),
            sender,
            _destination(entry.get("Destination")),
            params.get("ReplyToAddresses") or (),
            [*(given.get("Headers") or ()), *(entry.get("ReplacementHeaders") or ())],
            operation="SendBulkEmail",
            attachments=attachments,
        )
        results.append({"Status": "SUCCESS", "MessageId": message_id})
    return {"BulkEmailEntryResults": results}


def _merged(default: str, replacement: str | None) -> str:
    if not replacement:
        return default
    try:
        return json.dumps({**parse_data(default), **parse_data(replacement)})
    except RenderingError:
        return replacement
