"""What a deploy checks before running anything: template, bundle, the SAM CLI, Python 3.12, credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_fakes import FakePip

from sluiceway.deploy.package import build_bundle
from sluiceway.deploy.sam import credential_source, preflight
from sluiceway.deploy.template import TemplateOptions, WrittenTemplate, write_template
from sluiceway.settings import Settings


def which_of(*present: str) -> Callable[[str], str | None]:
    return lambda name: f"/fake/bin/{name}" if name in present else None


KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}


@pytest.fixture
def deployable(tmp_path: Path, settings: Settings) -> Path:
    """A template and the bundle it names, as `sluiceway template` and `sluiceway package` leave them."""
    from sluiceway.config import load_config

    build_bundle(tmp_path / "build" / "lambda", settings, requirements=["tinydep"], run=FakePip())
    out = tmp_path / "template.yaml"
    write_template(
        settings,
        load_config(str(settings.pipeline_config)),
        out,
        options=TemplateOptions(code_uri="build/lambda"),
    )
    return out


def test_everything_in_place_means_no_problems(deployable: Path, tmp_path: Path) -> None:
    check = preflight(deployable, env=KEYS, home=tmp_path, which=which_of("sam", "python3.12"), use_botocore=False)
    assert check.ok, check.problems
    assert check.sam == "/fake/bin/sam" and check.credentials == "env"


def test_every_missing_piece_is_named_with_its_remedy(tmp_path: Path) -> None:
    check = preflight(tmp_path / "template.yaml", env={}, home=tmp_path, which=which_of(), use_botocore=False)
    text = "\n".join(check.problems)
    assert not check.ok and len(check.problems) == 3
    assert "run `sluiceway template" in text
    assert "`sam`) is not on PATH" in text
    assert "no AWS credentials found" in text and "AWS_PROFILE" in text


def test_a_missing_bundle_and_python_3_12_are_reported(written: WrittenTemplate, tmp_path: Path) -> None:
    check = preflight(written.path, env=KEYS, home=tmp_path, which=which_of("sam"), use_botocore=False)
    text = "\n".join(check.problems)
    assert "no Lambda bundle" in text and "sluiceway package --out" in text
    assert "needs `python3.12` on PATH" in text and "--skip-build" in text
    skipped = preflight(
        written.path,
        env=KEYS,
        home=tmp_path,
        which=which_of("sam"),
        build=False,
        use_botocore=False,
    )
    assert not any("python3.12" in p for p in skipped.problems)
    container = preflight(
        written.path,
        env=KEYS,
        home=tmp_path,
        which=which_of("sam"),
        use_container=True,
        use_botocore=False,
    )
    assert any("needs Docker" in p for p in container.problems)


def test_a_bundle_built_for_another_pipeline_config_is_refused(deployable: Path, tmp_path: Path, settings: Settings) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(Path(str(settings.pipeline_config)).read_text().replace("max_concurrency: 4", "max_concurrency: 8"))
    build_bundle(
        tmp_path / "build" / "lambda",
        settings.model_copy(update={"pipeline_config": other}),
        requirements=["tinydep"],
        run=FakePip(),
    )
    check = preflight(deployable, env=KEYS, home=tmp_path, which=which_of("sam", "python3.12"), use_botocore=False)
    assert any("another pipeline config" in p for p in check.problems)


def test_a_hand_written_template_deploys_as_an_app_and_must_read(tmp_path: Path) -> None:
    # An app's own SAM template (what `up --template` runs) deploys as it is: no bundle or
    # Sluiceway metadata is asked for, but it must read and its runtimes' Pythons be there.
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Runtime: python3.13, Handler: app.handler, CodeUri: src/}\n"
    )
    check = preflight(template, env=KEYS, home=tmp_path, which=which_of("sam", "python3.13"), use_botocore=False)
    assert check.ok, check.problems
    check = preflight(template, env=KEYS, home=tmp_path, which=which_of("sam", "python3.12"), use_botocore=False)
    assert [p for p in check.problems if "needs `python3.13` on PATH" in p]
    template.write_text("Resources: [\n")
    check = preflight(template, env=KEYS, home=tmp_path, which=which_of("sam", "python3.12"), use_botocore=False)
    assert any("not valid YAML" in p for p in check.problems)


def test_credentials_from_the_aws_files(tmp_path: Path) -> None:
    aws = tmp_path / ".aws"
    aws.mkdir()
    assert credential_source({}, home=tmp_path, use_botocore=False) is None
    (aws / "credentials").write_text("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n")
    assert credential_source({}, home=tmp_path, use_botocore=False) == "shared-credentials-file"
    assert credential_source({"AWS_PROFILE": "work"}, home=tmp_path, use_botocore=False) is None
    (aws / "config").write_text(
        "[profile work]\nsso_session = corp\n[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\nsource_profile = default\n"
    )
    assert credential_source({"AWS_PROFILE": "work"}, home=tmp_path, use_botocore=False) == "sso"
    assert credential_source({"AWS_PROFILE": "ci"}, home=tmp_path, use_botocore=False) == "assume-role"
    assert (
        credential_source(
            {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds"},
            home=tmp_path / "none",
            use_botocore=False,
        )
        == "container-role"
    )


def test_credentials_through_botocore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("botocore")
    # botocore reads the process environment; point it away from this machine's files and metadata service.
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    assert credential_source({}, home=tmp_path) is None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert credential_source({}, home=tmp_path) == "env"
