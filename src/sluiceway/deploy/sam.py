"""Deploying with the AWS SAM CLI: what must be there first, and the commands.

:func:`preflight` checks, without calling AWS, everything the deploy needs
(the template, the bundle it names, the ``sam`` executable, credentials) and
lists every missing piece with how to provide it, so a deploy never fails
half-way for a reason that was knowable up front. :func:`deploy_commands` are
the ``sam build`` and ``sam deploy`` invocations (non-interactive: every answer
``sam deploy --guided`` would ask for is given as an option).
"""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .package import read_manifest

logger = logging.getLogger(__name__)

__all__ = [
    "DeployPlan",
    "Preflight",
    "credential_source",
    "default_home",
    "deploy_commands",
    "preflight",
    "template_metadata",
]

_STACK_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass(frozen=True)
class Preflight:
    """What a deploy found before running anything."""

    sam: str | None
    """The ``sam`` executable, or None when it is not on PATH."""
    credentials: str | None
    """Where AWS credentials come from, or None when none were found."""
    problems: tuple[str, ...] = field(default_factory=tuple)
    """Each missing piece with the way to provide it; empty when the deploy can run."""

    @property
    def ok(self) -> bool:
        return not self.problems


def template_metadata(template: Path) -> dict[str, Any]:
    """The ``Metadata.Sluiceway`` block ``sluiceway template`` writes (empty if absent or unreadable)."""
    try:
        doc = yaml.safe_load(Path(template).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    meta = doc.get("Metadata", {}).get("Sluiceway", {}) if isinstance(doc, dict) else {}
    return meta if isinstance(meta, dict) else {}


def app_runtimes(template: Path) -> set[str]:
    """The Lambda runtimes a SAM/CloudFormation template's functions declare (Globals included).

    Raises:
        ValueError: the template cannot be read, with the reason.
    """
    from ..cfn.errors import TemplateError
    from ..cfn.reading import load_template

    try:
        document = load_template(Path(template))
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    default = ((document.get("Globals") or {}).get("Function") or {}).get("Runtime")
    runtimes: set[str] = set()
    for resource in document["Resources"].values():
        if isinstance(resource, dict) and resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            runtime = (resource.get("Properties") or {}).get("Runtime", default)
            if isinstance(runtime, str):
                runtimes.add(runtime)
    return runtimes


_NAMED_IAM = {
    "AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile": "InstanceProfileName",
}  # fmt: skip


def template_capabilities(template: Path) -> tuple[str, ...]:
    """What ``sam deploy`` must acknowledge for an app's template: CAPABILITY_IAM, CAPABILITY_NAMED_IAM when
    it names IAM resources, CAPABILITY_AUTO_EXPAND when it nests applications or stacks."""
    from ..cfn.errors import TemplateError
    from ..cfn.reading import load_template

    try:
        resources = load_template(Path(template))["Resources"]
    except TemplateError:
        return ("CAPABILITY_IAM",)
    kinds = [(r.get("Type"), r.get("Properties") or {}) for r in resources.values() if isinstance(r, dict)]
    found = ["CAPABILITY_IAM"]
    if any(kind in _NAMED_IAM and isinstance(props, dict) and props.get(_NAMED_IAM[kind]) for kind, props in kinds):
        found.append("CAPABILITY_NAMED_IAM")
    if any(kind in ("AWS::Serverless::Application", "AWS::CloudFormation::Stack") for kind, _ in kinds):
        found.append("CAPABILITY_AUTO_EXPAND")
    return tuple(found)


def declared_parameters(template: Path) -> set[str]:
    """The names in the template's ``Parameters`` section (empty when there is none or it cannot be read)."""
    from ..cfn.errors import TemplateError
    from ..cfn.reading import parse_text

    try:
        document = parse_text(Path(template).read_text(encoding="utf-8"), str(template))
    except (OSError, UnicodeDecodeError, TemplateError):
        return set()
    section = document.get("Parameters") if isinstance(document, dict) else None
    return {str(name) for name in section} if isinstance(section, dict) else set()


def credential_source(
    env: Mapping[str, str],
    *,
    home: Path,
    use_botocore: bool = True,
) -> str | None:
    """Where AWS credentials would come from, or None.

    With botocore importable, its own resolution chain answers (environment,
    profiles, SSO, web identity, containers, instance metadata); otherwise the
    environment variables and the ``~/.aws`` files are read.

    Args:
        env: the environment the SAM CLI will see.
        home: the home folder holding ``.aws/``.
        use_botocore: ask botocore when it is importable.
    """
    if use_botocore and importlib.util.find_spec("botocore") is not None:
        from ..services import aws_credential_source

        return aws_credential_source(env)
    return _file_source(env, home)


def _file_source(env: Mapping[str, str], home: Path) -> str | None:
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return "env"
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
        return "assume-role-with-web-identity"
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return "container-role"
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    credentials_file = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config_file = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    section = _section(credentials_file, profile)
    if section and section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
        return "shared-credentials-file"
    section = _section(config_file, profile if profile == "default" else f"profile {profile}")
    if section:
        if section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
            return "config-file"
        for key, source in (
            ("sso_session", "sso"),
            ("sso_start_url", "sso"),
            ("credential_process", "custom-process"),
            ("role_arn", "assume-role"),
        ):
            if section.get(key):
                return source
    return None


def _section(path: Path, name: str) -> dict[str, str] | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    return dict(parser.items(name)) if parser.has_section(name) else None


def preflight(
    template: Path,
    *,
    env: Mapping[str, str],
    home: Path,
    which: Callable[[str], str | None] = shutil.which,
    build: bool = True,
    use_container: bool = False,
    use_botocore: bool = True,
) -> Preflight:
    """Check everything a deploy of ``template`` needs; nothing is run and AWS is not called.

    Args:
        template: the template ``sluiceway template`` wrote.
        env: the environment the SAM CLI will run with.
        home: the home folder (for ``~/.aws``).
        which: finds executables on PATH (injected in tests).
        build: ``sam build`` will run (it needs Python 3.12, or Docker with ``use_container``).
        use_container: ``sam build --use-container``.
        use_botocore: resolve credentials with botocore when importable.
    """
    problems: list[str] = []
    template = Path(template)
    meta: dict[str, Any] = {}
    if not template.is_file():
        problems.append(f"no template at {template}: run `sluiceway template --out {template}` first")
    else:
        meta = template_metadata(template)
    runtimes: set[str] = set()
    if template.is_file() and not meta:
        # An app's own template: it deploys as it is; `sam build` needs each function's Python.
        try:
            runtimes = app_runtimes(template)
        except ValueError as exc:
            problems.append(str(exc))
    if meta:
        code = template.parent / str(meta.get("CodeUri", ""))
        manifest = read_manifest(code)
        if manifest is None:
            problems.append(f"no Lambda bundle at {code}: run `sluiceway package --out {code}` first")
        elif manifest.get("pipeline_digest") != meta.get("PipelineDigest"):
            problems.append(
                f"the bundle at {code} was built for another pipeline config than the template "
                f"({manifest.get('pipeline')} {manifest.get('pipeline_digest')} vs {meta.get('Pipeline')} {meta.get('PipelineDigest')}): "
                "run `sluiceway package` and `sluiceway template` with the same --config"
            )
        definition = template.parent / str(meta.get("DefinitionUri", ""))
        if not definition.is_file():
            problems.append(f"the workflow definition {definition} named by the template does not exist: generate the template again")
    sam = which("sam")
    if sam is None:
        problems.append(
            "the AWS SAM CLI (`sam`) is not on PATH: install it (https://docs.aws.amazon.com/serverless-application-model/"
            "latest/developerguide/install-sam-cli.html, or `pip install aws-sam-cli` in its own virtualenv) and retry"
        )
    if build and sam is not None:
        if use_container:
            if which("docker") is None:
                problems.append("`sam build --use-container` needs Docker, which is not on PATH; install it or drop --use-container")
        elif not meta:
            for runtime in sorted(r for r in runtimes if r.startswith("python") and which(r) is None):
                problems.append(
                    f"`sam build` for the {runtime} runtime needs `{runtime}` on PATH: install it, use --use-container (Docker), "
                    "or --skip-build when CodeUri folders hold their dependencies already"
                )
        elif which("python3.12") is None:
            problems.append(
                "`sam build` for the python3.12 runtime needs `python3.12` on PATH. The bundle is already built for Lambda, "
                "so either install Python 3.12, use --use-container (Docker), or --skip-build to deploy the bundle as it is"
            )
    source = credential_source(env, home=home, use_botocore=use_botocore)
    if source is None:
        problems.append(
            "no AWS credentials found: set AWS_PROFILE to a configured profile (`aws configure` or `aws configure sso`), "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    return Preflight(sam, source, tuple(problems))


@dataclass(frozen=True)
class DeployPlan:
    """The commands a deploy runs, in order."""

    commands: tuple[tuple[str, ...], ...]
    deployed_template: Path


def deploy_commands(
    template: Path,
    *,
    sam: str,
    stack_name: str,
    region: str,
    parameters: Mapping[str, str | None] | None = None,
    build: bool = True,
    use_container: bool = False,
    build_dir: Path | None = None,
    tags: Sequence[str] = (),
    capabilities: Sequence[str] = ("CAPABILITY_IAM",),
) -> DeployPlan:
    """``sam build`` (unless ``build`` is False) then a non-interactive ``sam deploy``.

    Raises:
        ValueError: ``stack_name`` is not a valid CloudFormation stack name.
    """
    if not stack_name or not stack_name[0].isalpha() or len(stack_name) > 128 or set(stack_name) - _STACK_NAME_CHARS:
        raise ValueError(f"invalid stack name {stack_name!r}: letters, digits and hyphens, starting with a letter")
    template = Path(template)
    commands: list[tuple[str, ...]] = []
    deployed = template
    if build:
        build_dir = build_dir or template.parent / ".aws-sam" / "build"
        command = [sam, "build", "--template-file", str(template), "--build-dir", str(build_dir)]
        if use_container:
            command.append("--use-container")
        commands.append(tuple(command))
        deployed = build_dir / "template.yaml"
    deploy = [
        sam,
        "deploy",
        "--template-file",
        str(deployed),
        "--stack-name",
        stack_name,
        "--region",
        region,
        # SAM creates the functions' and the state machine's roles (unnamed: CAPABILITY_IAM suffices
        # unless the template names IAM resources or nests applications; see capabilities()).
        "--capabilities",
        *capabilities,
        "--resolve-s3",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
    ]
    # An empty value is a value (`Key=`): only the options left out (None) are dropped.
    overrides = [f"{key}={value}" for key, value in (parameters or {}).items() if value is not None]
    if overrides:
        deploy += ["--parameter-overrides", *overrides]
    if tags:
        deploy += ["--tags", *tags]
    commands.append(tuple(deploy))
    return DeployPlan(tuple(commands), deployed)


def default_home() -> Path:
    """The user's home folder (where ``~/.aws`` lives)."""
    return Path(os.path.expanduser("~"))
