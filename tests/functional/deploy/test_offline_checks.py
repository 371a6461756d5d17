"""The generated template passes cfn-lint, transforms with the SAM translator and passes checkov, offline."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform

from sluiceway.apps.builtin import PIPELINE_FUNCTIONS
from sluiceway.apps.builtin import workflow_text as workflow_definition
from sluiceway.deploy.policies import ALLOWED_WILDCARD_ACTIONS
from sluiceway.deploy.template import (
    WrittenTemplate,
    dump_template,
)

FUNCTIONS = {f.name: f.handler for f in PIPELINE_FUNCTIONS}

REPO = Path(__file__).resolve().parents[3]

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"

#: AWS managed policies by name, for names the translator's bundled map lacks (it would list them through IAM).
MANAGED_POLICIES = {
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}
EXPECTED_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


class FakeManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists policies through IAM."""

    def __init__(self, policies: dict[str, str]) -> None:
        self.policies = policies
        self.loads = 0

    def load(self) -> dict[str, str]:
        self.loads += 1
        return dict(self.policies)


def lint_text(text: str) -> list[str]:
    return [f"{m.rule.id} {m.message}" for m in lint(text, config=ManualArgs(regions=["us-east-1"]))]


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` hands CloudFormation: local CodeUri/DefinitionUri replaced by S3 locations."""
    doc = copy.deepcopy(template)
    for resource in doc["Resources"].values():
        props = resource.get("Properties", {})
        if "CodeUri" in props:
            props["CodeUri"] = "s3://artifacts-bucket/bundle.zip"
        if "DefinitionUri" in props:
            props["DefinitionUri"] = "s3://artifacts-bucket/data_processing.asl.json"
    return doc


def test_cfn_lint_passes(written: WrittenTemplate) -> None:
    assert lint_text(written.path.read_text(encoding="utf-8")) == []


def test_cfn_lint_would_catch_a_broken_template(written: WrittenTemplate) -> None:
    broken = copy.deepcopy(written.template)
    broken["Resources"]["ExecutionsFailedAlarm"]["Properties"]["AlarmActions"] = [{"Ref": "NoSuchTopic"}]
    broken["Resources"]["MetadataTable"]["Properties"]["BillingMode"] = "FREE"
    problems = lint_text(dump_template(broken))
    assert any("NoSuchTopic" in p for p in problems), problems
    assert any("FREE" in p for p in problems), problems


@pytest.fixture
def translated(written: WrittenTemplate, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    doc = yaml.safe_load(written.path.read_text(encoding="utf-8"))
    loader = FakeManagedPolicyLoader(MANAGED_POLICIES)
    out = transform(packaged(doc), {}, loader)  # type: ignore[arg-type]
    # The translator's bundled map knows every policy SAM attaches here: IAM would never be asked.
    assert loader.loads == 0
    return out


def test_the_sam_translator_transforms_it(translated: dict[str, Any], written: WrittenTemplate) -> None:
    types = [r["Type"] for r in translated["Resources"].values()]
    assert types.count("AWS::Lambda::Function") == len(FUNCTIONS)
    assert types.count("AWS::StepFunctions::StateMachine") == 1
    assert types.count("AWS::Events::Rule") == 1
    assert not [t for t in types if t.startswith("AWS::Serverless::")]
    machine = next(r for r in translated["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")["Properties"]
    assert machine["DefinitionS3Location"] == {
        "Bucket": "artifacts-bucket",
        "Key": "data_processing.asl.json",
    }
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    rule = next(r for r in translated["Resources"].values() if r["Type"] == "AWS::Events::Rule")["Properties"]
    source = written.template["Resources"]["DataProcessingWorkflow"]["Properties"]["Events"]["ObjectCreated"]["Properties"]
    assert rule["EventPattern"] == source["Pattern"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "DataProcessingWorkflow"}
    assert "DeadLetterConfig" in target and "RetryPolicy" in target
    assert lint_text(json.dumps(translated)) == []


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    for policy in resource["Properties"].get("Policies", []):
        document = policy["PolicyDocument"]
        found = document["Statement"]
        statements.extend(found if isinstance(found, list) else [found])
    return statements


def test_roles_are_least_privilege(translated: dict[str, Any]) -> None:
    roles = {name: r for name, r in translated["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) == len(FUNCTIONS) + 2  # one per function, the state machine's, the rule's
    for name, role in roles.items():
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= EXPECTED_MANAGED, name
        for statement in _statements(role):
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert not [a for a in actions if "*" in a], f"{name}: wildcard action in {statement}"
            if "*" in resources:
                assert set(actions) <= ALLOWED_WILDCARD_ACTIONS, f"{name}: {actions} on *"
    rule_role = next(r for n, r in roles.items() if n.endswith("ObjectCreatedRole"))
    (start,) = _statements(rule_role)
    assert start["Action"] == "states:StartExecution" and start["Resource"] == {"Ref": "DataProcessingWorkflow"}


def test_definition_uri_ships_the_local_definition(written: WrittenTemplate) -> None:
    uri = written.template["Resources"]["DataProcessingWorkflow"]["Properties"]["DefinitionUri"]
    assert (written.path.parent / uri).read_bytes() == workflow_definition().encode("utf-8")


def run_checkov(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            str(path),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return report if isinstance(report, dict) else report[0]


@pytest.mark.slow
@pytest.mark.skipif(
    not CHECKOV.exists(),
    reason="checkov lives in .venv-checkov (its boto3 pin clashes with ours); `make test` creates it",
)
def test_checkov_reports_no_failed_check(written: WrittenTemplate, tmp_path: Path) -> None:
    report = run_checkov(written.path)
    assert report["summary"]["failed"] == 0, [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 30
    # The skips are what keeps it green: without the queue's, its check fails.
    bare = copy.deepcopy(written.template)
    del bare["Resources"]["DeadLetterQueue"]["Metadata"]
    path = tmp_path / "no-skip.yaml"
    path.write_text(dump_template(bare), encoding="utf-8")
    failed = {c["check_id"] for c in run_checkov(path)["results"]["failed_checks"]}
    assert failed == {"CKV_AWS_27"}
