"""Every example's template passes cfn-lint, transforms with the SAM translator and passes checkov, offline, as `sam deploy` would need.

And ``sluiceway new`` copies an example out of the package: every file, nothing of a run's leftovers.
"""

from __future__ import annotations

import copy
import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform
from typer.testing import CliRunner

from sluiceway.cli.new import copy_example, example_names, new

EXAMPLES = Path(str(resources.files("sluiceway").joinpath("examples")))
REPO = Path(__file__).resolve().parents[3]
APPS = ["api-workflow", "csv-fanout", "csv-workflow", "json-records"]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
#: The only checks an example may skip (each skip says why in the resource's Metadata). Encryption at
#: rest, public access, DLQs of asynchronously invoked functions, backups: fixed, never skipped.
SKIPPABLE = {
    "CKV_AWS_18": "bucket access logging: needs a log bucket of its own",
    "CKV_AWS_21": "versioning of buckets holding derived data",
    "CKV_AWS_27": "a KMS key on queues SNS or EventBridge send to (they use SSE-SQS)",
    "CKV_AWS_115": "reserved concurrency: fails on accounts with a low concurrency limit",
    "CKV_AWS_116": "a DLQ on a function nothing invokes asynchronously",
    "CKV_AWS_117": "a VPC for functions that use only public AWS endpoints",
    "CKV_AWS_119": "a customer managed KMS key on DynamoDB tables",
    "CKV_AWS_173": "KMS on environments that hold no secrets",
}


class NoManagedPolicies:
    """Stands in for samtranslator's ManagedPolicyLoader, which would list policies through IAM."""

    def load(self) -> dict[str, str]:
        raise AssertionError("the translator asked IAM for managed policies")


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub ...) read as their long forms."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def lint_text(text: str) -> list[str]:
    return [f"{m.rule.id} {m.message}" for m in lint(text, config=ManualArgs(regions=["us-east-1"]))]


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` hands CloudFormation: local CodeUri/DefinitionUri replaced by S3 locations."""
    doc = copy.deepcopy(template)
    globals_ = doc.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_:
        globals_["CodeUri"] = "s3://artifacts-bucket/code.zip"
    for resource in doc["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri"):
            if key in props:
                props[key] = f"s3://artifacts-bucket/{key}.zip"
    return doc


def test_every_example_is_listed() -> None:
    assert example_names() == APPS


@pytest.mark.parametrize("app", APPS)
def test_the_template_passes_cfn_lint_and_the_sam_translator(app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (EXAMPLES / app / "template.yaml").read_text(encoding="utf-8")
    assert lint_text(text) == []
    template = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    # Every local path the template names exists in the example.
    for resource in template["Resources"].values():
        for key in ("CodeUri", "DefinitionUri"):
            uri = resource.get("Properties", {}).get(key)
            if isinstance(uri, str):
                assert (EXAMPLES / app / uri).exists(), f"{app}: {key} {uri}"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    out = transform(packaged(template), {}, NoManagedPolicies())  # type: ignore[arg-type]
    types = {r["Type"] for r in out["Resources"].values()}
    assert not [t for t in types if t.startswith("AWS::Serverless::")]
    assert "AWS::Lambda::Function" in types
    assert lint_text(json.dumps(out)) == []


def test_cfn_lint_would_catch_a_broken_example() -> None:
    text = (EXAMPLES / "csv-fanout" / "template.yaml").read_text(encoding="utf-8")
    broken = text.replace("TopicArn: !Ref CsvProcessedTopic", "TopicArn: !Ref NoSuchTopic")
    assert any("NoSuchTopic" in problem for problem in lint_text(broken))


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.parametrize("app", APPS)
def test_new_copies_the_whole_example(app: str, tmp_path: Path) -> None:
    written = copy_example(app, tmp_path / "mine")
    assert {p.relative_to(tmp_path / "mine").as_posix() for p in written} == _files(EXAMPLES / app)
    assert {"template.yaml", "README.md"} <= _files(tmp_path / "mine")
    assert not list((tmp_path / "mine").rglob("__pycache__"))


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(new)
    return app


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["json-records", str(tmp_path / "taken")])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]


def test_new_lists_the_apps_for_an_unknown_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["csv-pipeline", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "no example app 'csv-pipeline'" in result.output
    assert all(app in result.output for app in APPS)
    assert not (tmp_path / "x").exists()


def test_new_writes_into_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(_cli(), ["csv-fanout", str(tmp_path / "empty")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "empty" / "src" / "csv_processor" / "csv_processor.py").is_file()


def test_the_top_level_examples_folder_points_at_the_packaged_apps() -> None:
    readme = (REPO / "examples" / "README.md").read_text(encoding="utf-8")
    assert all(f"src/sluiceway/examples/{app}" in readme for app in APPS)


def run_checkov(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(CHECKOV), "-f", str(path), "--framework", "cloudformation", "--skip-download", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return dict(report if isinstance(report, dict) else report[0])


def _checks(report: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {(c["check_id"], c["resource"].rsplit(".", 1)[-1]) for c in report["results"][kind]}


@pytest.mark.slow
@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov lives in .venv-checkov (its boto3 pin clashes with ours); `make test` creates it")
@pytest.mark.parametrize("app", APPS)
def test_checkov_reports_no_failed_check_and_every_skip_says_why(app: str, tmp_path: Path) -> None:
    report = run_checkov(EXAMPLES / app / "template.yaml")
    assert report["summary"]["failed"] == 0, sorted(_checks(report, "failed_checks"))
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] >= 15
    for skipped in report["results"]["skipped_checks"]:
        assert skipped["check_id"] in SKIPPABLE, f"{app}: {skipped['check_id']} on {skipped['resource']} must be fixed, not skipped"
        assert len(skipped["check_result"].get("suppress_comment") or "") >= 30, (
            f"{app}: {skipped['check_id']} on {skipped['resource']} without its reason"
        )

    # Every skip holds something back: without the templates' skips, exactly the skipped checks fail.
    template = yaml.load((EXAMPLES / app / "template.yaml").read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506
    for resource in template["Resources"].values():
        resource.get("Metadata", {}).pop("checkov", None)
    bare = tmp_path / "template.json"
    bare.write_text(json.dumps(template), encoding="utf-8")
    unskipped = run_checkov(bare)
    assert _checks(unskipped, "failed_checks") == _checks(report, "skipped_checks")
