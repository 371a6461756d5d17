"""Benchmark: one event against many EventBridge rules, ours (RuleIndex) against moto.

Generates S3 "Object Created"/"Object Deleted" events in EventBridge's envelope
(varied buckets, keys, sizes, reasons) and a realistic mix of rules: exact
source/detail-type/bucket, key prefix and suffix, size ranges, anything-but,
wildcards and ``$or``. Both matchers run in this process over the same data:

* ours: ``RuleIndex.match`` over every event;
* moto: ``EventPattern.matches_event`` of every rule, over a sample of the
  events only (it is orders of magnitude slower); its throughput per event is
  extrapolated from that sample, and said so in the output.

The two must agree on the sample; disagreements are listed.

    .venv/bin/python bench/event_match.py [--rules 1000] [--events 100000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's queue module (moto needs it) for scripts run from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sluiceway.events.patterns import Pattern, RuleIndex, compile_pattern

ACCOUNT = "111111111111"
REGION = "us-east-1"
TEAMS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
STAGES = ["raw", "staging", "curated", "exports", "logs", "backups"]
ENVS = ["dev", "test", "prod"]
PREFIXES = ["incoming/", "exports/", "tmp/", "logs/", "archive/", "landing/orders/", "reports/"]
STEMS = ["orders", "customers", "invoices", "events", "clicks", "inventory", "payments"]
SUFFIXES = [".csv", ".csv.gz", ".json", ".json.gz", ".parquet", ".avro", ".txt"]
REASONS = [
    "PutObject",
    "PutObject",
    "PutObject",
    "CompleteMultipartUpload",
    "CopyObject",
    "POST Object",
]


def make_buckets(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add(
            f"{rng.choice(TEAMS)}-{rng.choice(STAGES)}-{rng.choice(ENVS)}-{rng.randrange(100):02d}"
        )
    return sorted(names)


def make_key(rng: random.Random) -> str:
    day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365))
    prefix = rng.choice(PREFIXES)
    stem = rng.choice(STEMS)
    return f"{prefix}{day:%Y/%m/%d}/{stem}-{rng.randrange(1_000_000):06d}{rng.choice(SUFFIXES)}"


def make_event(rng: random.Random, buckets: list[str], start: datetime) -> dict[str, Any]:
    bucket = rng.choice(buckets)
    key = make_key(rng)
    created = rng.random() < 0.9
    when = start + timedelta(seconds=rng.randrange(86_400 * 30))
    # Object sizes are roughly log-normal: many small files, a few large ones.
    size = min(int(rng.lognormvariate(11, 3)), 2_000_000_000)
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": {"key": key, "sequencer": f"{rng.getrandbits(64):016X}"},
        "request-id": f"{rng.getrandbits(64):016X}",
        "requester": ACCOUNT,
        "source-ip-address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
    }
    if created:
        detail["object"].update({"size": size, "etag": f"{rng.getrandbits(128):032x}"})
        detail["reason"] = rng.choice(REASONS)
    else:
        detail["reason"] = "DeleteObject"
        detail["deletion-type"] = "Permanently Deleted"
    return {
        "version": "0",
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "detail-type": "Object Created" if created else "Object Deleted",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": detail,
    }


def make_rule(rng: random.Random, buckets: list[str]) -> dict[str, Any]:
    """One rule, drawn from the shapes S3-to-EventBridge users actually write."""
    envelope: dict[str, Any] = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    bucket = {"name": [rng.choice(buckets)]}
    shape = rng.random()
    if shape < 0.30:  # one bucket, one key prefix
        detail = {"bucket": bucket, "object": {"key": [{"prefix": rng.choice(PREFIXES)}]}}
    elif shape < 0.45:  # one bucket, file type
        detail = {"bucket": bucket, "object": {"key": [{"suffix": rng.choice(SUFFIXES)}]}}
    elif shape < 0.55:  # a few buckets, a size band
        low = rng.choice([0, 1_024, 1_048_576, 10_485_760])
        detail = {
            "bucket": {"name": rng.sample(buckets, 3)},
            "object": {"size": [{"numeric": [">=", low, "<", low * 100 + 1_048_576]}]},
        }
    elif shape < 0.65:  # everything but scratch files
        detail = {
            "bucket": bucket,
            "object": {"key": [{"anything-but": {"prefix": "tmp/"}}]},
            "reason": [{"anything-but": ["CopyObject"]}],
        }
    elif shape < 0.75:  # a key shape
        stem = rng.choice(STEMS)
        detail = {
            "bucket": bucket,
            "object": {"key": [{"wildcard": f"{rng.choice(PREFIXES)}*/{stem}-*.csv"}]},
        }
    elif shape < 0.85:  # csv files or big files
        detail = {
            "bucket": bucket,
            "$or": [
                {"object": {"key": [{"suffix": ".csv"}]}},
                {"object": {"size": [{"numeric": [">", 100_000_000]}]}},
            ],
        }
    elif shape < 0.93:  # deletions in prod buckets
        envelope["detail-type"] = ["Object Deleted"]
        detail = {"bucket": {"name": [{"wildcard": f"{rng.choice(TEAMS)}-*-prod-*"}]}}
    else:  # one team's buckets, multipart uploads only
        detail = {
            "bucket": {"name": [{"prefix": f"{rng.choice(TEAMS)}-"}]},
            "reason": ["CompleteMultipartUpload"],
        }
    return {**envelope, "detail": detail}


def load_moto() -> Any:
    try:
        from moto.events.models import EventPattern
    except ImportError:  # pragma: no cover - moto is a dev dependency
        return None
    return EventPattern


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=int, default=1_000, help="number of rules (default 1000)")
    parser.add_argument(
        "--events", type=int, default=100_000, help="number of events (default 100000)"
    )
    parser.add_argument(
        "--buckets", type=int, default=200, help="distinct bucket names (default 200)"
    )
    parser.add_argument(
        "--moto-events",
        type=int,
        default=200,
        help="events in moto's sample, also checked for agreement (default 200)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    buckets = make_buckets(rng, args.buckets)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    print(f"generating {args.rules:,} rules and {args.events:,} events ...", flush=True)
    rules = {f"rule-{i:05d}": make_rule(rng, buckets) for i in range(args.rules)}
    events = [make_event(rng, buckets, start) for _ in range(args.events)]

    t0 = time.perf_counter()
    compiled: dict[str, Pattern] = {
        rid: compile_pattern(json.dumps(rule)) for rid, rule in rules.items()
    }
    index = RuleIndex()
    for rid, pattern in compiled.items():
        index.add(rid, pattern)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    matched = 0
    for event in events:
        matched += len(index.match(event))
    ours_s = time.perf_counter() - t0
    ours_rate = len(events) / ours_s

    print(f"rules compiled and indexed in {build_s:.2f} s")
    print(
        f"ours  RuleIndex      : {len(events):>7,} events in {ours_s:7.2f} s = "
        f"{ours_rate:>12,.0f} events/s "
        f"({matched / len(events):.2f} matching rules per event)"
    )

    sample = events[: min(args.moto_events, len(events))]
    t0 = time.perf_counter()
    for event in sample:
        [rid for rid, pattern in compiled.items() if pattern.matches(event)]
    brute_s = time.perf_counter() - t0
    print(
        f"ours  Pattern.matches: {len(sample):>7,} events in {brute_s:7.2f} s = "
        f"{len(sample) / brute_s:>12,.0f} events/s (every rule tried, no index; for reference)"
    )

    EventPattern = load_moto()
    if EventPattern is None:
        print("moto is not installed: no comparison")
        return 0
    moto_rules = {rid: EventPattern.load(json.dumps(rule)) for rid, rule in rules.items()}
    t0 = time.perf_counter()
    moto_answers = [
        [rid for rid, p in moto_rules.items() if p.matches_event(event)] for event in sample
    ]
    moto_s = time.perf_counter() - t0
    moto_rate = len(sample) / moto_s
    print(
        f"moto  matches_event  : {len(sample):>7,} events in {moto_s:7.2f} s = "
        f"{moto_rate:>12,.0f} events/s "
        f"(a sample of {len(sample):,} events, each against all {len(rules):,} rules; "
        "per-event rate extrapolated)"
    )
    print(f"ours/moto: {ours_rate / moto_rate:,.0f}x")

    disagreements = []
    for event, moto_ids in zip(sample, moto_answers, strict=True):
        ours_ids = index.match(event)
        if set(ours_ids) != set(moto_ids):
            disagreements.append(
                (
                    event["id"],
                    sorted(set(ours_ids) - set(moto_ids)),
                    sorted(set(moto_ids) - set(ours_ids)),
                )
            )
    print(
        f"agreement on the sample: {len(sample) - len(disagreements)}/{len(sample)} "
        "events identical"
    )
    for event_id, only_ours, only_moto in disagreements[:10]:
        print(f"  event {event_id}: only ours {only_ours}, only moto {only_moto}")
        for rid in (only_ours + only_moto)[:2]:
            print(f"    {rid}: {json.dumps(rules[rid])}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
