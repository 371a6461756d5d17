"""What SES's two APIs share: the catalog and the mailbox, sender checks, tags, and accepting a message.

SES v1 (query) and v2 (rest-json) are one service with one set of identities, templates and
configuration sets; they word their errors differently. The checks here raise
:class:`SesRefusal` with AWS's message and a kind; each API's module maps the kind to its own
error code, once, at its boundary (:func:`refusals`).

Locally the account has production access: recipients need not be verified (a new AWS
account starts in the sandbox, where they must be; a pipeline's notifications go to people
whose addresses nobody verifies on a laptop). Senders must be verified, as on AWS in either
mode: an identity is verified the moment it is added, so a template's ``AWS::SES::EmailIdentity``
or one ``VerifyEmailIdentity`` call is all a sender needs. The send quota answers the sandbox's
figures (200 a day, 1 a second), as a new account has them; nothing is throttled.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING, Any, Final

from ...backends.local.ses import SqliteSes
from ...backends.local.ses_mail import SqliteMailbox
from ...messaging.ses_messages import MessageFormatError
from ...runtime.messaging.ses_relay import SesRelay
from ..context import Context, Handler, Operations, Shared
from ..errors import AwsError

if TYPE_CHECKING:
    from ...runtime.stack import Stack

__all__ = [
    "MAX_24_HOUR_SEND",
    "MAX_RECIPIENTS",
    "MAX_SEND_RATE",
    "SesRefusal",
    "accept",
    "address_of",
    "catalog",
    "check_message_size",
    "check_recipients",
    "check_senders",
    "check_tags",
    "raw_senders",
    "mailbox",
    "now_ms",
    "refusals",
]

MAX_24_HOUR_SEND: Final = 200.0
MAX_SEND_RATE: Final = 1.0
#: Recipients of one message (To, Cc and Bcc together), as SES counts them.
MAX_RECIPIENTS: Final = 50
_TAG_NAME: Final = re.compile(r"^[A-Za-z0-9_-]+$")
_TAG_VALUE: Final = re.compile(r"^[A-Za-z0-9_.@-]+$")
#: Tags SES reads itself (fine-grained feedback); their ``ses:`` prefix is allowed.
_SES_TAGS: Final = frozenset({"ses:feedback-id-a", "ses:feedback-id-b"})
_SMTP_SETTINGS: Final = frozenset({"smtp_host", "smtp_port"})
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class SesRefusal(Exception):
    """A request SES refuses, in AWS's words; ``kind`` picks each API's code.

    Kinds: ``invalid`` (v1 InvalidParameterValue, v2 BadRequestException), ``rejected``
    (MessageRejected in both), ``template-missing``, ``template-exists``, ``config-set-missing``,
    ``config-set-exists``, ``identity-missing``, ``identity-exists``, ``rendering``
    (a template that cannot be rendered), ``missing-attribute``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def refusals(ops: Operations, codes: Mapping[str, tuple[str, int]]) -> Callable[[str], Callable[[Handler], Handler]]:
    """A decorator registering operations of ``ops`` whose refusals become ``codes[kind]`` errors."""

    def registrar_for(name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            @functools.wraps(handler)
            def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
                with _mapped(codes):
                    return handler(ctx, params)

            return ops(name)(run)

        return register

    return registrar_for


@contextmanager
def _mapped(codes: Mapping[str, tuple[str, int]]) -> Iterator[None]:
    try:
        yield
    except SesRefusal as refusal:
        code, status = codes[refusal.kind]
        raise AwsError(code, refusal.message, status) from None


# -- stores -------------------------------------------------------------------------------------


def catalog(ctx: Context) -> SqliteSes:
    db = ctx.stack.local.db
    return ctx.shared.get("ses.catalog", lambda: SqliteSes(db))


def mailbox(ctx: Context) -> SqliteMailbox:
    return _mailbox(ctx.stack, ctx.shared)


def _mailbox(stack: Stack, shared: Shared) -> SqliteMailbox:
    return shared.get("ses.mailbox", lambda: SqliteMailbox(stack.local.db, stack.settings.data_dir / "ses", stack.local.clock))


def _relay(ctx: Context) -> SesRelay | None:
    return relay(ctx.stack, ctx.shared)


def relay(stack: Stack, shared: Shared) -> SesRelay | None:
    """The SMTP relay, started once (the endpoint starts it, so mail captured before a restart goes on);
    None unless an SMTP server is configured.

    ``smtp_host`` defaults to ``localhost``; only a server named in the settings (``SLUICEWAY_SMTP_HOST``
    or ``SLUICEWAY_SMTP_PORT``) gets SES's mail: without one, messages are captured only.
    """
    settings = stack.settings
    if not _SMTP_SETTINGS & settings.model_fields_set:
        return None
    box = _mailbox(stack, shared)

    def build() -> SesRelay:
        from ...runtime.wiring import smtp_config

        relay = SesRelay(box, box.raw, smtp_config(settings), clock=stack.local.clock)  # type: ignore[arg-type]
        relay.start()
        return relay

    return shared.get("ses.relay", build)


def now_ms(ctx: Context) -> int:
    return int(ctx.stack.local.clock.now().timestamp() * 1000)


def new_message_id(ctx: Context) -> str:
    """An id of SES's form: 16 hex digits of the time, a UUID, ``-000000``."""
    return f"{now_ms(ctx):016x}-{uuid.uuid4()}-000000"


# -- checks -------------------------------------------------------------------------------------


def address_of(value: str) -> str:
    """The address in ``value`` (``Name <a@b>`` or ``a@b``), refused in SES's words (its mail
    library's) when it cannot be one: no domain, no local part, whitespace or a control character
    (a line break would end the header it goes in)."""
    if "<" in value:
        display, address = parseaddr(value)
        if _CONTROL.search(display) or _CONTROL.search(value.split("<", 1)[0]):
            raise SesRefusal("invalid", "Illegal address")
    else:
        address = value.strip()
    if "@" not in address or address.endswith("@"):
        raise SesRefusal("invalid", "Missing final '@domain'")
    local, domain = address.rsplit("@", 1)
    if not local:
        raise SesRefusal("invalid", "Missing local name")
    if _CONTROL.search(local) or any(c.isspace() for c in local):
        raise SesRefusal("invalid", "Local address contains control or whitespace")
    if _CONTROL.search(domain) or any(c.isspace() for c in domain):
        raise SesRefusal("invalid", "Domain contains control or whitespace")
    return address


def addresses_of(values: Sequence[str]) -> list[str]:
    return [address_of(v) for v in values]


def check_senders(ctx: Context, senders: Sequence[str]) -> None:
    """Refuse a send whose sender (Source, From) is not a verified address or of a verified domain."""
    known = {i.identity.lower() for i in catalog(ctx).identities(ctx.region)}
    failed: list[str] = []
    for sender in senders:
        address = address_of(sender).lower()
        domain = address.rsplit("@", 1)[1]
        # A verified domain covers its subdomains too, unless they are verified on their own.
        parents = {".".join(domain.split(".")[i:]) for i in range(domain.count(".") + 1)}
        if address not in known and not parents & known and sender not in failed:
            failed.append(sender)
    if failed:
        raise SesRefusal(
            "rejected",
            f"Email address is not verified. The following identities failed the check in region {ctx.region.upper()}: "
            + ", ".join(failed),
        )


def check_tags(tags: Sequence[Mapping[str, str]] | None) -> None:
    """Message tags as SES checks them, in its order: name given, value given, name, then value."""
    for tag in tags or ():
        name, value = tag.get("Name", ""), tag.get("Value", "")
        if name == "":
            raise SesRefusal("invalid", "The tag name must be specified.")
        if value == "":
            raise SesRefusal("invalid", "The tag value must be specified.")
        if len(name) > 255:
            raise SesRefusal("invalid", "Tag name cannot exceed 255 characters.")
        if name not in _SES_TAGS and not _TAG_NAME.match(name):
            raise SesRefusal("invalid", f"Invalid tag name <{name}>: only alphanumeric ASCII characters, '_',  '-' are allowed.")
        if len(value) > 255:
            raise SesRefusal("invalid", "Tag value cannot exceed 255 characters.")
        if not _TAG_VALUE.match(value):
            raise SesRefusal(
                "invalid", f"Invalid tag value <{value}>: only alphanumeric ASCII characters, '_',  '-' , '.', '@' are allowed."
            )


def check_configuration_set(ctx: Context, name: str | None) -> None:
    if name is not None and catalog(ctx).configuration_set(ctx.region, name) is None:
        raise SesRefusal("config-set-missing", f"Configuration set <{name}> does not exist.")


def check_recipients(recipients: Sequence[str]) -> list[str]:
    """The recipients' addresses; refuses more than SES's 50 a message and any it cannot read."""
    if len(recipients) > MAX_RECIPIENTS:
        raise SesRefusal("invalid", f"Recipient count exceeds {MAX_RECIPIENTS}.")
    return addresses_of(recipients)


def check_message_size(raw: bytes, limit: int) -> None:
    """Refuse a raw message longer than ``limit`` bytes (v1 10 MB, v2 40 MB), in SES's words."""
    if not raw:
        raise SesRefusal("invalid", "Empty message")
    if len(raw) > limit:
        raise SesRefusal("invalid", f"Message length is more than {limit} bytes long: '{len(raw)}'.")


def header_recipients(raw: bytes) -> tuple[str | None, list[str]]:
    """A raw message's From and its To, Cc and Bcc addresses (for a SendRawEmail without Destinations)."""
    parsed = _parsed(raw)
    sender = parsed.get("From")
    found = getaddresses([*parsed.get_all("To", []), *parsed.get_all("Cc", []), *parsed.get_all("Bcc", [])])
    return (str(sender) if sender is not None else None), [address for _, address in found if address]


def raw_senders(raw: bytes) -> list[str]:
    """Every sender a raw message names in its From, Sender and Return-Path headers: SES checks
    each of them (and the call's Source), as its sending authorization requires."""
    parsed = _parsed(raw)
    named = [str(v) for header in ("From", "Sender", "Return-Path") for v in parsed.get_all(header, [])]
    return [address for _, address in getaddresses(named) if address]


def _parsed(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=policy.compat32)


# -- accepting ----------------------------------------------------------------------------------


def accept(
    ctx: Context,
    *,
    operation: str,
    source: str,
    recipients: Sequence[str],
    subject: str | None,
    build: Callable[[str], bytes | None],
    error: str | None = None,
    rendered: bool = False,
) -> str:
    """Capture one accepted message (and queue it for the SMTP server); returns its message id.

    Args:
        build: the message's bytes given its id; None for a message that failed to render.
        error: why it failed to render.
        rendered: the message is a rendered template: one that cannot be made (a value that
            breaks its Subject) is a rendering failure, accepted and captured as such; any other
            send that cannot be made is refused.
    """
    message_id = new_message_id(ctx)
    try:
        raw = build(message_id)
    except MessageFormatError as exc:
        if not rendered:
            raise SesRefusal("invalid", str(exc)) from None
        raw, error = None, str(exc)
    relay = _relay(ctx)
    mailbox(ctx).capture(
        message_id=message_id,
        region=ctx.region,
        operation=operation,
        source=source,
        recipients=tuple(recipients),
        subject=subject,
        raw=raw,
        error=error,
        relay=relay is not None,
    )
    if relay is not None and raw is not None:
        relay.notify()
    return message_id


def sent_last_24_hours(ctx: Context) -> int:
    return mailbox(ctx).sent_since(ctx.region, now_ms(ctx) - 86_400_000)
