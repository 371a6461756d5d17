"""Functions the pipes tests' targets and enrichments run."""

from __future__ import annotations

from typing import Any


def report_bad(event: Any, context: Any) -> Any:
    """A target that names the records whose body is ``bad`` as failed."""
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event if r["body"] == "bad"]}


def enrich(event: Any, context: Any) -> Any:
    """An enrichment: one event per record, its body upper-cased."""
    return [{"shout": r["body"].upper()} for r in event]
