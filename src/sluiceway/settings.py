"""Runtime settings: ``SLUICEWAY_*`` environment variables, a config file, defaults.

Precedence: explicit argument > environment > config file > default. Settings
are read once at the edge (CLI, API, Lambda entrypoint) and passed down; nothing
below this module reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "ENV_PREFIX"]

ENV_PREFIX = "SLUICEWAY_"


#: The region and account a local stack names its resources with (ARNs, event envelopes).
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "111111111111"


class Settings(BaseSettings):
    """Where data lives and which backends serve the ports."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    backend: Literal["local", "aws"] = "local"
    """``local``: folders and SQLite under ``data_dir``. ``aws``: boto3 clients."""
    data_dir: Path = Path(".sluiceway")
    """Root of everything the local backends keep (buckets, SQLite databases, outbox)."""
    pipeline_config: Path | None = None
    """The pipeline config YAML; the packaged sample pipeline when unset."""
    input_bucket: str = "sluiceway-input"
    output_bucket: str = "sluiceway-output"
    table_name: str = "ProcessingMetadata"
    topic_name: str = "PipelineNotifications"
    state_machine_name: str = "DataProcessingWorkflow"
    dead_letter_queue: str = "sluiceway-dead-letters"
    """Where events that could not start a run go (the trigger rule's DeadLetterConfig)."""
    aws_endpoint_url: str | None = None
    """Talk to this endpoint instead of AWS (moto server, LocalStack); ``aws`` backend only."""
    event_bus_name: str = "default"
    endpoint_host: str = "127.0.0.1"
    """Where ``sluiceway up`` serves AWS's APIs; any address but the loopback requires signed requests."""
    endpoint_port: int = Field(default=4566, ge=0, le=65535)
    """The endpoint's port (0: any free port, printed at start)."""
    endpoint_require_auth: bool = False
    """Require a SigV4 signature made with one of ``endpoint_access_keys`` even on the loopback."""
    endpoint_access_keys: SecretStr | None = None
    """``KEY_ID:SECRET[,KEY_ID:SECRET...]``: the local access keys requests may be signed with."""
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=64)
    """Worker processes running functions locally."""
    function_timeout_s: float = Field(default=900.0, gt=0)
    function_memory_mb: int = Field(default=1024, ge=128)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    """ASL payload limit per state input/output (AWS: 256 KiB)."""
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "sluiceway@localhost"
    smtp_ssl: bool = False
    """Implicit TLS (SMTPS, port 465) instead of STARTTLS."""
    smtp_ca_file: Path | None = None
    """Trust this PEM (a private CA or a self-signed server)."""
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    log_payloads: bool = False
    """Log state inputs and outputs (opt-in: they may hold user data)."""

    @field_validator("input_bucket", "output_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        from .names import check_bucket

        return check_bucket(value)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sluiceway.db"

    @property
    def buckets_dir(self) -> Path:
        return self.data_dir / "buckets"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.jsonl"

    @property
    def scratch_dir(self) -> Path:
        return self.data_dir / "scratch"

    @property
    def endpoint_url(self) -> str:
        """How functions and local clients reach the endpoint."""
        host = "127.0.0.1" if self.endpoint_host in ("0.0.0.0", "::", "") else self.endpoint_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.endpoint_port}"

    def access_keys(self) -> dict[str, str]:
        """``endpoint_access_keys`` as key id -> secret.

        Raises:
            ValueError: a pair without its ``:``, an empty id or secret.
        """
        keys: dict[str, str] = {}
        if self.endpoint_access_keys is None:
            return keys
        for pair in self.endpoint_access_keys.get_secret_value().split(","):
            key_id, sep, secret = pair.strip().partition(":")
            if not sep or not key_id or not secret:
                raise ValueError("endpoint_access_keys takes KEY_ID:SECRET pairs separated by commas")
            keys[key_id] = secret
        return keys

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this stack's partition, region and account."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def to_env(self) -> dict[str, str]:
        """These settings as ``SLUICEWAY_*`` variables (handed to worker processes)."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):  # str() of a secret is its mask; workers need the value
                value = value.get_secret_value()
            env[f"{ENV_PREFIX}{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from the environment with explicit ``overrides`` on top (None means unset)."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})
