"""The applications that ship with Sluiceway: the CSV workflow, and the source documents' other two pipelines.

* ``csv-workflow``: a CSV lands in the input bucket → DataProcessingWorkflow (ValidateData →
  ProcessChunks → AggregateData → StoreResults → NotifySuccess; ErrorHandler → NotifyFailure).
* ``csv-fanout``: a CSV lands → CsvProcessor (a rule's target) → the ``csv-processed`` topic →
  the ``csv-summaries`` queue (dead-letter queue after 3 receives) → SqsConsumer (a queue
  trigger reporting batch item failures) → one summary object per file.
* ``json-records``: ``incoming/*.json`` lands → JsonRecords → one record in the ``events``
  table per document (idempotent) → the ``events-notify`` topic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from .model import App, FunctionDef, QueueDef, QueueTriggerDef, RuleDef, SubscriptionDef, TopicDef, WorkflowDef

if TYPE_CHECKING:
    from ..config import PipelineConfig
    from ..settings import Settings

__all__ = [
    "APPS",
    "CSV_WORKFLOW",
    "PIPELINE_FUNCTIONS",
    "SUMMARIES_DLQ",
    "SUMMARIES_QUEUE",
    "WORKFLOW_FILE",
    "build_app",
    "csv_fanout",
    "csv_workflow",
    "json_records",
    "pipeline_substitutions",
    "trigger_pattern",
    "workflow_text",
]

CSV_WORKFLOW = "csv-workflow"
WORKFLOW_FILE = "data_processing.asl.json"
SUMMARIES_QUEUE = "csv-summaries"
SUMMARIES_DLQ = "csv-summaries-dlq"

#: The CSV workflow's functions; ``access`` is what each one's code touches (read from it), so
#: that least privilege is decided here, once: ``read``/``crud`` per bucket role, ``crud`` on the table.
PIPELINE_FUNCTIONS: tuple[FunctionDef, ...] = (
    # HEAD and ranged reads of the input; a file in another encoding is transcoded into the work area;
    # the pipeline's hints (_sluiceway/pipelines/<name>/hints.json) read.
    FunctionDef("ValidateData", "sluiceway.functions.validate.handler", {"input": "read", "output": "crud"}),
    # Its byte range of the input (or of the transcoded copy); partial results into the work area;
    # hints read and, when the chunk learns something, written.
    FunctionDef("ProcessChunk", "sluiceway.functions.process_chunk.handler", {"input": "read", "output": "crud"}),
    # Chunks again for whole-file checks (unique columns); partials in, results, rejects and hints out.
    FunctionDef("AggregateData", "sluiceway.functions.aggregate.handler", {"input": "read", "output": "crud"}),
    # result.json, the metadata record, then the run's work files deleted.
    FunctionDef("StoreResults", "sluiceway.functions.store_results.handler", {"output": "crud", "table": "crud"}),
    # The FAILED record, then the run's work files deleted.
    FunctionDef("ErrorHandler", "sluiceway.functions.error_handler.handler", {"output": "crud", "table": "crud"}),
)


def workflow_text(resource: str = WORKFLOW_FILE) -> str:
    """A packaged ASL file's text, ``${...}`` placeholders and all."""
    return resources.files("sluiceway.workflows").joinpath(resource).read_text(encoding="utf-8")


def trigger_pattern(pattern: Mapping[str, Any], input_bucket: str) -> dict[str, Any]:
    """The pipeline's pattern, scoped to the input bucket unless it names buckets itself."""
    scoped = dict(pattern)
    detail = dict(scoped.get("detail") or {})
    if "bucket" not in detail:
        detail["bucket"] = {"name": [input_bucket]}
    scoped["detail"] = detail
    return scoped


def pipeline_substitutions(settings: Settings) -> dict[str, str]:
    """The CSV workflow's DefinitionSubstitutions locally (the SAM template gives the same names AWS values)."""
    values = {f"{f.name}FunctionArn": settings.arn("lambda", f"function:{f.name}") for f in PIPELINE_FUNCTIONS}
    values["NotificationTopicArn"] = settings.arn("sns", settings.topic_name)
    return values


def csv_workflow(settings: Settings, pipeline: PipelineConfig) -> App:
    """The CSV pipeline: DataProcessingWorkflow started by the pipeline config's trigger."""
    workflow = WorkflowDef(settings.state_machine_name, workflow_text(), WORKFLOW_FILE, pipeline_substitutions(settings))
    rule = RuleDef(
        f"{pipeline.name}-trigger"[:64],
        trigger_pattern(pipeline.trigger, settings.input_bucket),
        "workflow",
        workflow.name,
        target_id="workflow",
        # As the SAM template has it on AWS: a day of retries, then the trigger's dead-letter queue.
        dead_letter_queue=settings.dead_letter_queue,
        description=f"Runs {workflow.name}",
    )
    return App(
        CSV_WORKFLOW,
        PIPELINE_FUNCTIONS,
        workflows=(workflow,),
        rules=(rule,),
        topics=(TopicDef(settings.topic_name),),
        queues=(QueueDef(settings.dead_letter_queue),),
        description="CSV files validated, processed in parallel chunks, aggregated, stored and notified",
    )


def _object_created(bucket: str, key_filter: list[Any]) -> dict[str, Any]:
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": key_filter}},
    }


def csv_fanout(settings: Settings, pipeline: PipelineConfig) -> App:
    """CSV → function → topic → queue (DLQ) → consumer → summary objects."""
    return App(
        "csv-fanout",
        (
            FunctionDef("CsvProcessor", "sluiceway.functions.csv_processor.handler", {"input": "read"}),
            FunctionDef("SqsConsumer", "sluiceway.functions.sqs_consumer.handler", {"output": "crud"}),
        ),
        rules=(
            RuleDef(
                "csv-fanout-trigger",
                _object_created(settings.input_bucket, [{"suffix": ".csv"}]),
                "function",
                "CsvProcessor",
                target_id="processor",
                description="CSV → CsvProcessor",
            ),
        ),
        topics=(TopicDef("csv-processed", (SubscriptionDef("sqs", SUMMARIES_QUEUE),)),),
        queues=(
            QueueDef(SUMMARIES_DLQ),
            # A short visibility timeout: a failed batch is retried after 2 s, so a poison
            # message reaches the dead-letter queue within seconds, not minutes.
            QueueDef(SUMMARIES_QUEUE, visibility_timeout_s=2, dead_letter_queue=SUMMARIES_DLQ, max_receive_count=3),
        ),
        queue_triggers=(QueueTriggerDef(SUMMARIES_QUEUE, "SqsConsumer", batch_size=10, report_batch_item_failures=True),),
        description="CSV → function → topic → queue (DLQ) → consumer → summary object",
    )


def json_records(settings: Settings, pipeline: PipelineConfig) -> App:
    """``incoming/*.json`` → one record per document (idempotent) → a notification."""
    return App(
        "json-records",
        (FunctionDef("JsonRecords", "sluiceway.functions.json_records.handler", {"input": "read", "events": "crud"}),),
        rules=(
            RuleDef(
                "json-records-trigger",
                # The seed's S3 notification filter (prefix incoming/, suffix .json) as one EventBridge pattern.
                _object_created(settings.input_bucket, [{"wildcard": "incoming/*.json"}]),
                "function",
                "JsonRecords",
                target_id="recorder",
                description="incoming/*.json → JsonRecords",
            ),
        ),
        topics=(TopicDef("events-notify"),),
        description="incoming/*.json → function → record per document → notification",
    )


APPS: Mapping[str, Callable[[Settings, PipelineConfig], App]] = {
    CSV_WORKFLOW: csv_workflow,
    "csv-fanout": csv_fanout,
    "json-records": json_records,
}


def build_app(name: str, settings: Settings, pipeline: PipelineConfig) -> App:
    """The built-in application ``name``.

    Raises:
        ValueError: no built-in application (preset) of that name.
    """
    try:
        factory = APPS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(sorted(APPS))}") from None
    return factory(settings, pipeline)
