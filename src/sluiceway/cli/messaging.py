"""``sluiceway queues``, ``sluiceway topics`` and ``sluiceway publish``: the local queues and topics.

The commands see the stores through :class:`MessagingHandles`; by default they
are opened by ``runtime.wiring.open_messaging`` on the settings' data directory.
:func:`register` adds the commands to an app, with another opener if given
(tests pass one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import SluicewayError
from ..messaging.sns import MessageAttribute, Subscription
from ..ports.admin import MessagingHandles, QueueAdmin, TopicAdmin
from ..settings import Settings
from ._common import EXIT_USAGE, DataDirOption, console, fail, report_error, settings_from

__all__ = ["MessagingHandles", "Opener", "register"]


Opener = Callable[[Settings], MessagingHandles]


def _default_opener(settings: Settings) -> MessagingHandles:
    from ..runtime.wiring import open_messaging  # the runtime loads only for commands that need it

    return open_messaging(settings)


def register(app: typer.Typer, opener: Opener | None = None) -> None:
    """Add ``queues``, ``topics`` and ``publish`` to ``app``."""
    open_handles = opener or _default_opener

    def handles(data_dir: Path | None) -> MessagingHandles:
        settings = settings_from(data_dir)
        try:
            return open_handles(settings)
        except SluicewayError as exc:
            report_error(exc)

    queues_app = typer.Typer(
        help="Local queues: depth, in-flight, dead-letter queues, redrive.",
        invoke_without_command=True,
    )
    topics_app = typer.Typer(
        help="Local topics and their subscriptions.", invoke_without_command=True
    )

    @queues_app.callback()
    def queues(ctx: typer.Context, data_dir: Path | None = DataDirOption) -> None:
        """List queues: messages available, in flight and delayed, their DLQ's depth, the oldest message's age."""
        if ctx.invoked_subcommand is not None:
            return
        h = handles(data_dir)
        try:
            console.print(_queue_table(h.queues))
        finally:
            h.close()

    @queues_app.command("redrive")
    def redrive(
        name: Annotated[
            str,
            typer.Argument(
                help="A dead-letter queue, or a queue whose dead-letter queue to empty back into it"
            ),
        ],
        to: Annotated[
            str | None,
            typer.Option("--to", help="Move to this queue instead of each message's source"),
        ] = None,
        data_dir: Path | None = DataDirOption,
    ) -> None:
        """Move a dead-letter queue's messages back (SQS's StartMessageMoveTask)."""
        h = handles(data_dir)
        try:
            source, destination = name, to
            attributes = h.queues.queue_attributes(name)
            policy = attributes.config.redrive_policy
            if not _is_dead_letter_queue(h.queues, name) and policy is not None:
                source, destination = policy.dead_letter_queue, to or name
            moved = h.queues.start_message_move_task(source, destination)
        except SluicewayError as exc:
            report_error(exc)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
        finally:
            h.close()
        console.print(
            f"moved {moved} message{'s' if moved != 1 else ''} from [bold]{source}[/bold]"
        )

    @topics_app.callback()
    def topics(ctx: typer.Context, data_dir: Path | None = DataDirOption) -> None:
        """List topics and their subscriptions, with delivery counts."""
        if ctx.invoked_subcommand is not None:
            return
        h = handles(data_dir)
        try:
            console.print(_topic_table(h.topics))
        finally:
            h.close()

    @topics_app.command("create")
    def create(
        name: str,
        outbox: Annotated[
            bool, typer.Option("--outbox/--no-outbox", help="Subscribe the outbox")
        ] = True,
        data_dir: Path | None = DataDirOption,
    ) -> None:
        """Create a topic (idempotent) and print its ARN."""
        h = handles(data_dir)
        try:
            info = h.topics.create_topic(name, outbox=outbox)
        except SluicewayError as exc:
            report_error(exc)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
        finally:
            h.close()
        typer.echo(info.arn)

    @topics_app.command("delete")
    def delete(name: str, data_dir: Path | None = DataDirOption) -> None:
        """Delete a topic and its subscriptions."""
        h = handles(data_dir)
        try:
            h.topics.delete_topic(name)
        finally:
            h.close()

    @topics_app.command("subscribe")
    def subscribe(
        topic: str,
        protocol: Annotated[
            str, typer.Argument(help="sqs, lambda, email, email-json, http, https or outbox")
        ],
        endpoint: Annotated[str, typer.Argument(help="Queue, function, address or URL")] = "",
        raw: Annotated[
            bool, typer.Option("--raw", help="RawMessageDelivery (sqs, http, https)")
        ] = False,
        filter_policy: Annotated[
            str | None, typer.Option("--filter-policy", help="FilterPolicy JSON, or @FILE")
        ] = None,
        scope: Annotated[
            str | None, typer.Option("--scope", help="MessageAttributes (default) or MessageBody")
        ] = None,
        dead_letter_queue: Annotated[
            str | None, typer.Option("--dead-letter-queue", help="Queue for undeliverable messages")
        ] = None,
        data_dir: Path | None = DataDirOption,
    ) -> None:
        """Subscribe an endpoint and print the subscription's ARN (and a webhook's signing secret)."""
        policy = _text(filter_policy, "filter policy") if filter_policy is not None else None
        h = handles(data_dir)
        try:
            sub = h.topics.subscribe(
                topic,
                protocol,
                endpoint,
                raw_message_delivery=raw,
                filter_policy=policy,
                filter_policy_scope=scope,
                dead_letter_queue=dead_letter_queue,
            )
        except SluicewayError as exc:
            report_error(exc)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
        finally:
            h.close()
        typer.echo(sub.arn)
        if sub.secret is not None:
            typer.echo(
                f"signing secret (X-Sluiceway-Signature: sha256=HMAC-SHA256 of the body): {sub.secret}"
            )

    @topics_app.command("unsubscribe")
    def unsubscribe(subscription: str, data_dir: Path | None = DataDirOption) -> None:
        """Delete a subscription by its ARN."""
        h = handles(data_dir)
        try:
            h.topics.unsubscribe(subscription)
        except SluicewayError as exc:
            report_error(exc)
        finally:
            h.close()

    def publish(
        topic: Annotated[str, typer.Argument(help="Topic name or ARN")],
        message: Annotated[str, typer.Argument(help="The message, or @FILE to read it")],
        subject: Annotated[
            str | None, typer.Option("--subject", help="Subject (email subscribers see it)")
        ] = None,
        attribute: Annotated[
            list[str] | None,
            typer.Option(
                "--attribute",
                "-a",
                help="Message attribute NAME=VALUE (a String), or NAME:TYPE=VALUE with TYPE Number or String.Array; repeatable",
            ),
        ] = None,
        deliver: Annotated[
            bool,
            typer.Option(
                "--deliver",
                help="Deliver now, in this process, instead of leaving it to `sluiceway up`",
            ),
        ] = False,
        data_dir: Path | None = DataDirOption,
    ) -> None:
        """Publish a message to a topic and print its id."""
        attributes = _attributes(attribute or [])
        body = _text(message, "message")
        h = handles(data_dir)
        try:
            message_id = h.topics.publish(topic, body, subject=subject, attributes=attributes)
            delivered = h.deliverer.deliver_pending() if deliver else None
        except SluicewayError as exc:
            report_error(exc)
        except (ValueError, TypeError) as exc:
            fail(str(exc), EXIT_USAGE)
        finally:
            h.close()
        typer.echo(message_id)
        if delivered is not None:
            console.print(
                f"{delivered} deliver{'ies' if delivered != 1 else 'y'} made", style="dim"
            )

    app.add_typer(queues_app, name="queues")
    app.add_typer(topics_app, name="topics")
    app.command("publish")(publish)


# ------------------------------------------------------------------- helpers


def _is_dead_letter_queue(queues: QueueAdmin, name: str) -> bool:
    for other in queues.list_queues():
        policy = queues.queue_attributes(other).config.redrive_policy
        if policy is not None and policy.dead_letter_queue == name:
            return True
    return False


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86_400:.0f}d"


def _queue_table(queues: QueueAdmin) -> Table:
    table = Table(title="Queues")
    for column in ("queue", "depth", "in flight", "delayed", "DLQ", "DLQ depth", "oldest"):
        table.add_column(column, justify="left" if column in ("queue", "DLQ") else "right")
    names = queues.list_queues()
    attributes = {name: queues.queue_attributes(name) for name in names}
    for name in names:
        a = attributes[name]
        policy = a.config.redrive_policy
        dlq = policy.dead_letter_queue if policy is not None else None
        dlq_depth = "-"
        if dlq is not None:
            dlq_attributes = attributes.get(dlq)
            dlq_depth = (
                str(dlq_attributes.available + dlq_attributes.in_flight)
                if dlq_attributes
                else "missing"
            )
            if dlq_attributes is not None and dlq_attributes.available:
                dlq_depth = f"[red]{dlq_depth}[/red]"
        table.add_row(
            name,
            str(a.available),
            str(a.in_flight),
            str(a.delayed),
            dlq or "-",
            dlq_depth,
            _age(a.oldest_age_s),
        )
    return table


def _topic_table(topics: TopicAdmin) -> Table:
    table = Table(title="Topics")
    for column in (
        "topic",
        "protocol",
        "endpoint",
        "filter",
        "raw",
        "delivered",
        "pending",
        "failed",
        "subscription",
    ):
        table.add_column(column, overflow="fold")
    counts = topics.delivery_counts()
    subscriptions: dict[str, list[Subscription]] = {}
    for sub in topics.list_subscriptions():
        subscriptions.setdefault(sub.topic, []).append(sub)
    for info in topics.list_topics():
        subs = subscriptions.get(info.name, [])
        if not subs:
            table.add_row(info.name, "-", "", "", "", "", "", "", "")
        for n, sub in enumerate(subs):
            c = counts.get(sub.arn, {})
            failed = sum(c.get(s, 0) for s in ("failed", "rejected"))
            table.add_row(
                info.name if n == 0 else "",
                sub.protocol,
                sub.endpoint,
                _policy(sub),
                "yes" if sub.raw_message_delivery else "",
                str(c.get("delivered", 0)),
                str(c.get("pending", 0)),
                f"[red]{failed}[/red]" if failed else "0",
                sub.id,
            )
    return table


def _policy(sub: Subscription) -> str:
    if not sub.filter_policy:
        return ""
    text = json.dumps(json.loads(sub.filter_policy), separators=(",", ":"))
    scope = " (body)" if sub.filter_policy_scope == "MessageBody" else ""
    return (text if len(text) <= 60 else text[:59] + "…") + scope


def _text(value: str, what: str) -> str:
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the {what} file {path}: {exc}", EXIT_USAGE)


def _attributes(values: list[str]) -> dict[str, MessageAttribute]:
    out: dict[str, MessageAttribute] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--attribute wants NAME=VALUE or NAME:TYPE=VALUE, not {item!r}", EXIT_USAGE)
        name, _, data_type = key.partition(":")
        out[name] = MessageAttribute(data_type or "String", value)
    return out
