"""``sluiceway demo [APP]``: an example app run end to end, as ``sluiceway up --template`` runs it.

The demo copies the example (``sluiceway new``'s copy) into a data dir of its own,
``DATA_DIR/demos/<app>``, emptied first so that every demo starts as a fresh account
would, makes its template's stack on a local stack with an AWS-compatible endpoint on
a free port (the functions reach it through ``AWS_ENDPOINT_URL``, as on Lambda they
reach AWS), puts sample data into the template's buckets through the same object
store the endpoint's S3 writes to (so the same notifications fire), waits for what
the app does and prints it. The exit code is 0 only if everything ended as expected.

``csv-workflow`` (the default) is Sluiceway's own CSV pipeline as an app; ``csv-fanout``
and ``json-records`` are the source documents' other systems. ``api-workflow`` puts no data
anywhere: it makes users in the app's user pool, signs them in through ``cognito-idp``
InitiateAuth and calls the app's HTTP API with their tokens, as a client on AWS would.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..errors import SluicewayError
from ..ports import ExecutionRecord
from ..settings import Settings
from ._common import EXIT_FAILED, console, err_console, fail, report_error, shown

if TYPE_CHECKING:
    from ..endpoint.server import Endpoint
    from ..runtime.stack import Stack

__all__ = ["DEMOS", "run_demo"]

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DEFAULT_APP = "csv-workflow"
#: The example apps a demo drives (each has its own check below) and how long each waits by default:
#: the small apps are done in seconds, and a failed asynchronous invocation is retried for minutes
#: (Lambda's two retries), so waiting longer would only delay the verdict.
DEMOS = {"csv-workflow": 600.0, "csv-fanout": 120.0, "json-records": 120.0, "api-workflow": 60.0}

T = TypeVar("T")


@dataclass
class _Running:
    """An example app made into a stack, running for the length of a demo."""

    stack: Stack
    app_dir: Path
    outputs: dict[str, str]
    started: datetime
    endpoint: Endpoint

    def put(self, bucket: str, key: str, path: Path, content_type: str) -> None:
        """Store ``path`` as ``s3://bucket/key``: the store behind the endpoint's PutObject, events and all."""
        self.stack.local.objects.put_file(bucket, key, str(path), content_type=content_type)
        console.print(Text.assemble("  uploaded ", shown(f"s3://{bucket}/{key}")), highlight=False)


@contextmanager
def _quiet() -> Iterator[None]:
    """Expected failures (the broken sample files) are reported in the table, not as log warnings."""
    root = logging.getLogger("sluiceway")
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def run_demo(settings: Settings, app: str = DEFAULT_APP, *, timeout: float | None = None, scale: float = 1.0) -> int:
    """Run example ``app`` end to end on sample data and print what it did; 0 if everything ended as expected.

    Args:
        settings: the data dir's settings; the demo runs in ``data_dir/demos/<app>``.
        timeout: give up waiting for the app after this many seconds [default: the app's, see DEMOS].
        scale: multiplies the sizes of the generated sample CSVs.
    """
    if app not in DEMOS:
        fail(f"no demo for app {app!r}; the demos are: {', '.join(DEMOS)}")
    with _quiet():
        demo = {"csv-workflow": _csv_workflow, "csv-fanout": _csv_fanout, "json-records": _json_records, "api-workflow": _api_workflow}[app]
        return demo(settings, DEMOS[app] if timeout is None else timeout, scale)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def _running(settings: Settings, app: str, parameters: dict[str, str] | None = None) -> Iterator[_Running]:
    """Example ``app`` copied into a fresh demo data dir, its template made into a stack, running until the block ends."""
    from ..cfn.deployer import deploy
    from ..cfn.errors import TemplateError
    from ..endpoint.server import Endpoint
    from ..runtime.stack import clear_folder
    from ..runtime.wiring import build_stack, running_stack
    from .new import copy_example

    folder = settings.data_dir / "demos" / app
    # The folder is emptied below: never through a link to somewhere else.
    if any(path.is_symlink() for path in (folder.parent, folder)):
        fail(f"{folder} is a link: the demo empties its folder, so it must be a folder of its own")
    settings = settings.model_copy(update={"data_dir": folder.resolve()})
    holder = running_stack(settings)
    if holder is not None:
        fail(f"a stack is running on {settings.data_dir}{holder}: stop it before running this demo")
    # Every demo starts from nothing: earlier runs' objects, items and messages would blur what this one did.
    clear_folder(settings.data_dir)
    app_dir = settings.data_dir / "app"
    try:
        copy_example(app, app_dir)
    except (ValueError, OSError) as exc:
        fail(f"cannot copy the {app} example into {app_dir}: {exc}")
    template = app_dir / "template.yaml"
    # The endpoint is the demo's own and answers on the loopback only; functions must know its
    # port before their workers start, so it is chosen now. The worker pool stays at the configured
    # size (the number of cores by default) rather than `up`'s one per function: a demo is one burst
    # of cold starts, and more of them at once than there are cores only slow each other down
    # (measured: the csv-workflow demo takes 5-6 s with 2 workers on 2 cores, 8-9 s with 5).
    host = "127.0.0.1"
    settings = settings.model_copy(update={"endpoint_host": host, "endpoint_port": _free_port(host), "endpoint_require_auth": False})
    try:
        stack = build_stack(settings, app=None)
    except SluicewayError as exc:
        report_error(exc)
    try:
        stack.start("sluiceway demo")
    except SluicewayError as exc:
        stack.close()
        report_error(exc)
    endpoint = Endpoint(stack, host=host, port=settings.endpoint_port, require_auth=False)
    try:
        try:
            endpoint.start()
        except OSError as exc:  # the free port was taken in the meantime
            fail(f"the endpoint cannot serve on {host}:{settings.endpoint_port}: {exc}", EXIT_FAILED)
        console.print(
            Text.assemble(("Sluiceway demo", "bold"), ": the ", (app, "bold"), " example app, copied to ", shown(app_dir)), highlight=False
        )
        started = datetime.now(UTC)
        try:
            deployment = deploy(endpoint, template, app, parameters or {}, cache_dir=settings.data_dir / "lambda-code", warn=_note)
        except TemplateError as exc:
            fail(f"the {app} example's template could not be made: {exc}", EXIT_FAILED)
        console.print(f"  stack {app}: {deployment.document['StackStatus']} ({len(deployment.document['Resources'])} resources)")
        yield _Running(stack, app_dir, deployment.outputs, started, endpoint)
    finally:
        endpoint.close()
        stack.close()


def _note(message: str) -> None:
    err_console.print(Text.assemble(("note: ", "yellow"), shown(message)), highlight=False)


def _name(arn_or_url: str) -> str:
    """A queue's or topic's name: the last part of its URL or ARN."""
    return arn_or_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _until(found: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str) -> T:
    """Poll ``found`` until ``done`` says its value is complete (or the timeout); the last value."""
    deadline = time.monotonic() + timeout
    with console.status(f"waiting for {what}"):
        value = found()
        while not done(value) and time.monotonic() < deadline:
            time.sleep(0.2)
            value = found()
    return value


def _verdict(ok: bool, where: str) -> int:
    console.print(Text.assemble("data: ", shown(where)), highlight=False)
    if ok:
        console.print("[green]everything ended as expected[/green]")
        return 0
    console.print("[red]something did not end as expected[/red]")
    return EXIT_FAILED


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _yes(ok: bool) -> str:
    return "[green]yes[/green]" if ok else "[red]NO[/red]"


# ------------------------------------------------------------------ csv-workflow


def _csv_workflow(settings: Settings, timeout: float, scale: float) -> int:
    from ..data.samples import write_samples

    with _running(settings, "csv-workflow") as running:
        folder = running.stack.settings.data_dir / "samples"
        console.print(Text.assemble("  writing sample CSVs to ", shown(folder)), highlight=False)
        samples = write_samples(folder, scale=scale)
        keys = {f"demo/{sample.name}": sample for sample in samples}
        for key, sample in keys.items():
            running.put(running.outputs["InputBucketName"], key, sample.path, "text/csv")
        records = _runs(running, set(keys), timeout)
        table = running.stack.services.table_named(running.outputs["MetadataTableName"], "ExecutionId")
        metadata = {arn: table.get({"ExecutionId": arn}) or {} for arn in (r.arn for r in records.values())}
        notified = running.stack.local.topics.published(_name(running.outputs["NotificationTopicArn"]))
        results = running.stack.settings.buckets_dir / running.outputs["OutputBucketName"]

    grid = Table(title="Demo runs")
    for column in ("file", "expected", "status", "rows read", "rows valid", "rejected", "duration", "output / reason", "ok"):
        grid.add_column(column, overflow="fold")
    all_ok = True
    for key, sample in keys.items():
        record = records.get(key)
        item: dict[str, Any] = metadata.get(record.arn, {}) if record else {}
        status = record.status if record else "NOT STARTED"
        ok = status == sample.expect and item.get("Status") == sample.expect
        if ok and sample.expect == "SUCCEEDED":
            counts = (item.get("RowsRead"), item.get("RowsValid"), item.get("RowsRejected"))
            ok = counts == (sample.rows, sample.rows - sample.bad_rows, sample.bad_rows)
        all_ok &= ok
        duration = f"{(record.stopped_at - record.started_at).total_seconds():.2f} s" if record and record.stopped_at else ""
        reason = (
            # The bucket is on the "results:" line below: the table shows the key.
            str(item.get("OutputLocation") or "").removeprefix(f"s3://{running.outputs['OutputBucketName']}/")
            if status == "SUCCEEDED"
            else (item.get("Message") or item.get("Cause") or (record.cause if record else ""))
        )
        style = "green" if status == "SUCCEEDED" else "red" if status in TERMINAL else "yellow"
        grid.add_row(
            shown(sample.name),
            sample.expect,
            f"[{style}]{status}[/{style}]",
            _fmt(item.get("RowsRead")),
            _fmt(item.get("RowsValid")),
            _fmt(item.get("RowsRejected")),
            duration,
            shown(str(reason or "")[:240]),
            _yes(ok),
        )
    console.print(grid)
    # NotifySuccess or NotifyFailure: one notification per run, whichever way it ended.
    all_ok &= len(notified) == len(keys)
    console.print(f"notifications: {len(notified)} published to {_name(running.outputs['NotificationTopicArn'])} (one per run expected)")
    console.print(Text.assemble("results: ", shown(results)), highlight=False)
    return _verdict(all_ok, str(running.stack.settings.data_dir))


def _key(record: ExecutionRecord) -> str | None:
    detail = record.input.get("detail", {}) if isinstance(record.input, dict) else {}
    key = detail.get("object", {}).get("key") if isinstance(detail, dict) else None
    return str(key) if key is not None else None


def _runs(running: _Running, keys: set[str], timeout: float) -> dict[str, ExecutionRecord]:
    """The newest run of each key started by the workflow since the demo began, once all have ended (or at the timeout)."""
    machine = running.outputs["StateMachineArn"]
    deadline = time.monotonic() + timeout
    found: dict[str, ExecutionRecord] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("processing", total=len(keys))
        while True:
            found = {}
            for record in running.stack.orchestrator.store.list(limit=200):
                key = _key(record)
                if record.state_machine in (machine, _name(machine)) and key in keys and record.started_at >= running.started:
                    found.setdefault(key, record)
            done = sum(1 for r in found.values() if r.status in TERMINAL)
            progress.update(task, completed=done)
            if done == len(keys) or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)


# ------------------------------------------------------------------ csv-fanout


def _csv_fanout(settings: Settings, timeout: float, scale: float) -> int:
    from ..data.samples import write_samples

    # Three receives of the poison message take three visibility timeouts: 3 s (the least the
    # consumer's 3 s timeout allows) instead of the template's default 18 s.
    with _running(settings, "csv-fanout", {"ConsumerVisibilityTimeout": "3"}) as running:
        samples = {s.name: s for s in write_samples(running.stack.settings.data_dir / "samples", scale=0.5 * scale)}
        chosen = [samples["sales-small.csv"], samples["sales-medium.csv"], samples["sales-broken.csv"]]
        for sample in chosen:
            running.put(running.outputs["InputBucketName"], f"fanout/{sample.name}", sample.path, "text/csv")
        queue, dead_letters = _name(running.outputs["SummariesQueueUrl"]), _name(running.outputs["DeadLetterQueueUrl"])
        queues = running.stack.local.queues
        queues.send(queue, "a poison message: not a CSV summary")
        console.print(f"  sent a poison message to {queue}")
        objects, bucket = running.stack.services.objects, running.outputs["OutputBucketName"]

        def summaries() -> dict[str, Any]:
            return {o.key: json.loads(objects.get(bucket, o.key)) for o in objects.list(bucket, "summaries/")}

        def state() -> tuple[dict[str, Any], list[Any]]:
            return summaries(), list(queues.peek(dead_letters))

        found, letters = _until(
            state, lambda s: len(s[0]) == len(chosen) and len(s[1]) == 1, timeout, "summaries and the dead-letter queue"
        )
        left = queues.queue_attributes(queue).available
    checks: list[tuple[str, Any, Any]] = []
    for sample in chosen:
        summary = found.get(f"summaries/fanout/{sample.name}.json", {})
        if sample.expect == "SUCCEEDED":
            checks.append(
                (f"summary of {sample.name} (status, rows)", ("SUCCEEDED", sample.rows), (summary.get("status"), summary.get("rows")))
            )
        else:
            checks.append((f"summary of {sample.name} (status)", "FAILED", summary.get("status")))
    checks.append(("poison messages in the dead-letter queue", 1, len(letters)))
    checks.append(("its receive count", 3, letters[0].receive_count if letters else None))
    checks.append((f"messages left in {queue}", 0, left))
    return _checks("csv-fanout", checks, running)


def _checks(app: str, checks: list[tuple[str, Any, Any]], running: _Running) -> int:
    grid = Table(title=f"Demo: {app}")
    for column in ("check", "expected", "found", "ok"):
        grid.add_column(column, overflow="fold")
    for name, expected, found in checks:
        grid.add_row(shown(name), shown(expected), shown(found), _yes(expected == found))
    console.print(grid)
    return _verdict(all(expected == found for _, expected, found in checks), str(running.stack.settings.data_dir))


# ------------------------------------------------------------------ json-records


def _json_records(settings: Settings, timeout: float, scale: float) -> int:
    with _running(settings, "json-records") as running:
        bucket = running.outputs["BucketName"]
        samples = sorted((running.app_dir / "events").glob("*.json"))
        extra = running.stack.settings.data_dir / "samples"
        extra.mkdir()
        (extra / "no-id.json").write_text(json.dumps({"customer": "lin", "total_cents": 700}), encoding="utf-8")
        (extra / "notes.txt").write_text("not a .json document", encoding="utf-8")
        # The notification's filter (prefix incoming/, suffix .json) keeps these two out.
        running.put(bucket, "archive/order-9.json", samples[0], "application/json")
        running.put(bucket, "incoming/notes.txt", extra / "notes.txt", "text/plain")
        uploads = {f"incoming/{sample.name}": sample for sample in samples}
        uploads["incoming/2024/no-id.json"] = extra / "no-id.json"
        for key, path in uploads.items():
            running.put(bucket, key, path, "application/json")
        # The same document again: the handler records it again (the same item) and notifies again.
        again = f"incoming/{samples[0].name}"
        running.put(bucket, again, samples[0], "application/json")
        notified = len(uploads) + 1
        documents = {key: json.loads(path.read_text(encoding="utf-8")) for key, path in uploads.items()}
        expected_items = sorted(str(document.get("id", key)) for key, document in documents.items())
        table = running.stack.services.table_named(running.outputs["TableName"], "pk")
        topic = _name(running.outputs["TopicArn"])

        def state() -> tuple[list[dict[str, Any]], list[str]]:
            return table.scan(), [m.message for m in running.stack.local.topics.published(topic)]

        _until(state, lambda s: len(s[0]) >= len(expected_items) and len(s[1]) >= notified, timeout, "records and notifications")
        # Whatever the filter let through by mistake would come within this second.
        time.sleep(1.0)
        items, notes = state()
    first = documents[again]
    stored = next((item.get("payload") for item in items if item.get("pk") == first.get("id", again)), None)
    checks: list[tuple[str, Any, Any]] = [
        ("records (pk: the document's id, else its key)", expected_items, sorted(str(item.get("pk")) for item in items)),
        (f"record of {again} (payload)", first, _plain(stored)),
        ("notifications (one per upload, the repeat too)", notified, len(notes)),
        (
            "their messages",
            sorted([f"New file processed: {key}" for key in uploads] + [f"New file processed: {again}"]),
            sorted(notes),
        ),
    ]
    return _checks("json-records", checks, running)


def _plain(value: Any) -> Any:
    """A stored item's value as JSON reads it (DynamoDB numbers come back as decimals)."""
    return json.loads(json.dumps(value, default=lambda v: int(v) if v == int(v) else float(v)))


# ------------------------------------------------------------------ api-workflow

#: The demo's users: one may submit jobs, the other only read them.
_SUBMITTER, _VIEWER = ("demo-submitter", "submitters"), ("demo-viewer", "viewers")
_PASSWORD = "Demo-password-1"  # the template's policy: 12 characters, upper and lower case, a digit
_JOB = {"operation": "mean", "numbers": [12, 7.5, 30, 0.5], "label": "sluiceway demo"}


def _api_workflow(settings: Settings, timeout: float, scale: float) -> int:
    from ..endpoint.calls import AwsCalls

    with _running(settings, "api-workflow") as running:
        aws = AwsCalls(running.stack, running.endpoint.shared, running.endpoint.url)
        pool, client = running.outputs["UserPoolId"], running.outputs["UserPoolClientId"]
        tokens: dict[str, str] = {}
        for username, group in (_SUBMITTER, _VIEWER):
            # As an administrator makes a user on AWS: no invitation, a permanent password, a group.
            aws.call("cognito-idp", "AdminCreateUser", {"UserPoolId": pool, "Username": username, "MessageAction": "SUPPRESS"})
            aws.call(
                "cognito-idp", "AdminSetUserPassword", {"UserPoolId": pool, "Username": username, "Password": _PASSWORD, "Permanent": True}
            )
            aws.call("cognito-idp", "AdminAddUserToGroup", {"UserPoolId": pool, "Username": username, "GroupName": group})
            signed_in = aws.call(
                "cognito-idp",
                "InitiateAuth",
                {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client, "AuthParameters": {"USERNAME": username, "PASSWORD": _PASSWORD}},
            )
            tokens[username] = str(signed_in["AuthenticationResult"]["AccessToken"])
            console.print(Text.assemble("  signed in ", (username, "bold"), f" ({group})"), highlight=False)
        api = running.outputs["ApiUrl"].rstrip("/")
        submitter, viewer = tokens[_SUBMITTER[0]], tokens[_VIEWER[0]]
        checks: list[tuple[str, Any, Any]] = [
            ("POST /jobs without a token", 401, _http("POST", f"{api}/jobs", None, _JOB)[0]),
            ("POST /jobs with a tampered token", 401, _http("POST", f"{api}/jobs", _tampered(submitter), _JOB)[0]),
            ("POST /jobs by a viewer", 403, _http("POST", f"{api}/jobs", viewer, _JOB)[0]),
        ]
        status, body = _http("POST", f"{api}/jobs", submitter, _JOB)
        checks.append(("POST /jobs by a submitter", 202, status))
        job_id = str(body.get("jobId", ""))
        console.print(Text.assemble("  job ", shown(job_id or "(none)"), " started: ", shown(str(body.get("executionArn", "")))))
        job = _until(
            lambda: _http("GET", f"{api}/jobs/{job_id}", viewer, None),
            lambda answer: answer[0] != 200 or answer[1].get("status") in TERMINAL,
            timeout,
            "the job",
        )[1]
        checks.append(("the job's status (GET /jobs/{id})", "SUCCEEDED", job.get("status")))
        checks.append(("its result (the mean)", 12.5, (job.get("output") or {}).get("result")))
        listed = _http("GET", f"{api}/jobs", submitter, None)[1].get("jobs", [])
        checks.append(("the submitter's jobs (GET /jobs)", [job_id], [entry.get("jobId") for entry in listed]))
    return _checks("api-workflow", checks, running)


def _http(method: str, url: str, token: str | None, body: Any) -> tuple[int, dict[str, Any]]:
    """``(status, JSON body)`` of one call to the app's API, as any HTTP client makes it."""
    import urllib.error
    import urllib.request

    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - the demo's own endpoint
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        parsed = json.loads(text or b"{}")
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}


def _tampered(token: str) -> str:
    """The token with its payload changed (a claim rewritten) and its signature kept: the authorizer must refuse it."""
    import base64

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["submitters", "viewers", "admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"
