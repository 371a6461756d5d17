"""Runtime settings: ``SLUICEWAY_*`` environment variables, a ``.env`` file, defaults.

Precedence: explicit argument > environment > ``.env`` > default. ``.env`` is read from
the current directory (UTF-8), as docker compose and most twelve-factor tools read it; it
may hold other programs' variables too: only ``SLUICEWAY_*`` ones are Sluiceway's, and one
of those that names no setting is an error (a typo must not be ignored silently). The
pipeline config (``pipeline_config``) is a file of another kind: it describes the
pipeline, never these settings. Settings are read once at the edge (CLI, API, Lambda
entrypoint) and passed down; nothing below this module reads the environment.

``.env.example`` at the repository's root is :func:`env_example`'s output: every setting,
its default and what it does.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigError

__all__ = ["DOTENV", "ENV_PREFIX", "Settings", "env_example"]

ENV_PREFIX = "SLUICEWAY_"
DOTENV = ".env"
"""The dotenv file read from the current directory."""


#: The region and account a local stack names its resources with (ARNs, event envelopes).
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "111111111111"


class Settings(BaseSettings):
    """Where data lives and which backends serve the ports."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=DOTENV,
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,  # the docstrings below are .env.example's comments
    )

    backend: Literal["local", "aws"] = "local"
    """``local``: folders and SQLite under ``data_dir``. ``aws``: boto3 clients."""
    data_dir: Path = Path(".sluiceway")
    """Root of everything the local backends keep (buckets, SQLite databases, outbox)."""
    pipeline_config: Path | None = None
    """The pipeline config YAML; the packaged sample pipeline when unset."""
    input_bucket: str = "sluiceway-input"
    """The bucket uploads go to; a file written there starts a run."""
    output_bucket: str = "sluiceway-output"
    """The bucket the pipeline writes its results and rejects to."""
    table_name: str = "ProcessingMetadata"
    """The table that records each run's metadata."""
    topic_name: str = "PipelineNotifications"
    """The topic a run's outcome is published to."""
    state_machine_name: str = "DataProcessingWorkflow"
    """The pipeline's state machine."""
    dead_letter_queue: str = "sluiceway-dead-letters"
    """Where events that could not start a run go (the trigger rule's DeadLetterConfig)."""
    aws_endpoint_url: str | None = None
    """Talk to this endpoint instead of AWS (moto server, LocalStack); ``aws`` backend only."""
    event_bus_name: str = "default"
    """The event bus the pipeline's rules listen on."""
    endpoint_host: str = "127.0.0.1"
    """Where ``sluiceway up`` serves AWS's APIs; any address but the loopback requires signed requests."""
    endpoint_port: int = Field(default=4566, ge=0, le=65535)
    """The endpoint's port (0: any free port, printed at start)."""
    endpoint_require_auth: bool = False
    """Require a SigV4 signature made with one of ``endpoint_access_keys`` even on the loopback."""
    endpoint_access_keys: SecretStr | None = None
    """``KEY_ID:SECRET[,KEY_ID:SECRET...]``: the local access keys requests may be signed with."""
    region: str = DEFAULT_REGION
    """The region local ARNs name (and the ``aws`` backend's, unless AWS_REGION says otherwise)."""
    account_id: str = DEFAULT_ACCOUNT_ID
    """The account id local ARNs name."""
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=64)
    """Worker processes running functions locally (default: the number of CPUs)."""
    function_timeout_s: float = Field(default=900.0, gt=0)
    """The pipeline functions' timeout in seconds (Lambda's maximum: 900)."""
    function_memory_mb: int = Field(default=1024, ge=128)
    """The pipeline functions' memory in MB (on AWS; locally it is not enforced)."""
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    """ASL payload limit per state input/output (AWS: 256 KiB)."""
    smtp_host: str = "localhost"
    """The mail server locally delivered ``email`` subscriptions go through."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    """The mail server's port."""
    smtp_starttls: bool = False
    """Upgrade the mail connection with STARTTLS."""
    smtp_username: str | None = None
    """Log in to the mail server as this user (no login when unset)."""
    smtp_password: SecretStr | None = None
    """The mail server password."""
    smtp_from: str = "sluiceway@localhost"
    """The sender of locally delivered mail."""
    smtp_ssl: bool = False
    """Implicit TLS (SMTPS, port 465) instead of STARTTLS."""
    smtp_ca_file: Path | None = None
    """Trust this PEM (a private CA or a self-signed server)."""
    log_format: Literal["console", "json"] = "console"
    """``console`` for people, ``json`` for log collectors."""
    log_level: str = "INFO"
    """DEBUG, INFO, WARNING or ERROR."""
    log_payloads: bool = False
    """Log state inputs and outputs (opt-in: they may hold user data)."""
    api_enabled: bool = True
    """Serve the management API at ``/_sluiceway/api`` on the endpoint."""
    metrics_enabled: bool = True
    """Keep Prometheus metrics for ``/_sluiceway/metrics``; false makes every metric hook a return."""
    health_max_event_lag_s: float = Field(default=60.0, gt=0)
    """Readiness fails when an event, topic delivery or async invocation has waited longer than this (seconds)."""
    health_check_timeout_s: float = Field(default=2.0, gt=0, le=30)
    """How long each readiness check may take (seconds) before it counts as failed."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        return init_settings, env_settings, _SluicewayDotEnv(settings_cls, dotenv_settings), file_secret_settings

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


class _SluicewayDotEnv(PydanticBaseSettingsSource):
    """``.env``'s ``SLUICEWAY_*`` variables; other programs' variables in it are left alone.

    pydantic-settings, with ``extra="forbid"``, would refuse any key of the file that names
    no field, other programs' ``DATABASE_URL`` included; and it would name an unknown
    ``SLUICEWAY_`` key by its field name only. This source takes the fields, ignores foreign
    keys, and refuses an unknown ``SLUICEWAY_`` key by its name, with the likeliest one meant.
    """

    def __init__(self, settings_cls: type[BaseSettings], dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self._dotenv = dotenv

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._dotenv.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        prefix = ENV_PREFIX.lower()  # keys come case-folded (the environment is matched case-insensitively too)
        known = [f"{prefix}{name}" for name in self.settings_cls.model_fields]
        for key in self._dotenv.env_vars:
            if key.lower().startswith(prefix) and key.lower() not in known:
                # Compared without the prefix, which every key shares and which would make any two alike.
                close = difflib.get_close_matches(key.lower()[len(prefix) :], list(self.settings_cls.model_fields), n=1)
                hint = f" (did you mean {ENV_PREFIX}{close[0].upper()}?)" if close else ""
                raise ConfigError(f"{DOTENV}: {key.upper()} is not a Sluiceway setting{hint}")
        # The fields only: DotEnvSettingsSource's own __call__ would add every other key as an extra.
        return EnvSettingsSource.__call__(self._dotenv)


def env_example() -> str:
    """The text of ``.env.example``: every setting as a commented-out ``SLUICEWAY_*`` line with its default."""
    lines = [
        "# Sluiceway's settings. Copy this file to .env (read from the current directory) and",
        "# uncomment what you change. The environment overrides .env; command-line options override both.",
        "# Generated from sluiceway.settings.Settings: regenerate it with",
        "#   python -c 'from sluiceway.settings import env_example; print(env_example(), end=\"\")' > .env.example",
    ]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"setting {name} has no docstring: .env.example needs one line about it")
        comment = " ".join(field.description.replace("``", "").split())  # reST quotes mean nothing in a .env
        lines += ["", f"# {comment}", f"# {ENV_PREFIX}{name.upper()}={_example_value(field)}"]
    return "\n".join(lines) + "\n"


def _example_value(field: FieldInfo) -> str:
    if field.default_factory is not None or field.default is None:
        return ""  # computed at start (its docstring says how), or unset
    value = field.default
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
