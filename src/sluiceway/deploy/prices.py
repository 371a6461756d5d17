"""The price table a cost estimate is priced with: AWS's public list prices of one region.

The table is a JSON file (``prices.json`` ships with Sluiceway, for us-east-1); another
region's, or a newer one, can be passed instead. It is checked when read, so an
estimate never prices a service at a missing price.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError

__all__ = ["PriceTable", "default_prices_path", "load_prices"]


class _Prices(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepFunctionsPrices(_Prices):
    standard_per_1000_transitions: float = Field(ge=0)
    express_per_million_requests: float = Field(ge=0)
    express_per_gb_second: float = Field(ge=0)


class LambdaPrices(_Prices):
    per_million_requests: float = Field(ge=0)
    per_gb_second_x86: float = Field(ge=0)


class S3Prices(_Prices):
    put_per_1000: float = Field(ge=0)
    get_per_1000: float = Field(ge=0)
    standard_per_gb_month: float = Field(ge=0)


class DynamoDBPrices(_Prices):
    per_million_write_request_units: float = Field(ge=0)
    per_million_read_request_units: float = Field(ge=0)


class SnsPrices(_Prices):
    per_million_publishes: float = Field(ge=0)
    email_per_100000: float = Field(ge=0)


class SqsPrices(_Prices):
    per_million_requests: float = Field(ge=0)


class EventBridgePrices(_Prices):
    aws_service_events_per_million: float = Field(ge=0)
    custom_events_per_million: float = Field(ge=0)


class CloudWatchPrices(_Prices):
    alarm_per_month: float = Field(ge=0)
    logs_ingestion_per_gb: float = Field(ge=0)


class XRayPrices(_Prices):
    per_million_traces_recorded: float = Field(ge=0)


class KmsPrices(_Prices):
    key_per_month: float = Field(ge=0)
    per_10000_requests: float = Field(ge=0)


class PriceTable(_Prices):
    """A price table (``prices.json``): public list prices of one region."""

    region: str
    currency: str = "USD"
    retrieved: str
    """When the prices were read from AWS's pricing pages (YYYY-MM-DD)."""
    note: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    stepfunctions: StepFunctionsPrices
    lambda_: LambdaPrices = Field(alias="lambda")
    s3: S3Prices
    dynamodb: DynamoDBPrices
    sns: SnsPrices
    sqs: SqsPrices
    eventbridge: EventBridgePrices
    cloudwatch: CloudWatchPrices
    xray: XRayPrices
    kms: KmsPrices


def default_prices_path() -> Path:
    """The price table shipped with Sluiceway (us-east-1)."""
    return Path(__file__).with_name("prices.json")


def load_prices(path: Path | None = None) -> PriceTable:
    """Read and check a price table.

    Raises:
        ConfigError: the file is missing, not JSON, or lacks a price (each problem named by its path).
    """
    path = Path(path) if path is not None else default_prices_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such price table") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable JSON price table: {exc}") from None
    try:
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        problems = [f"  {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path}: invalid price table:\n" + "\n".join(problems)) from None
