"""The SAM template: the same ASL file, the same trigger, one function per handler, least privilege."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sluiceway.apps.builtin import PIPELINE_FUNCTIONS, trigger_pattern
from sluiceway.apps.builtin import pipeline_substitutions as substitutions
from sluiceway.apps.builtin import workflow_text as workflow_definition
from sluiceway.asl import parser
from sluiceway.config import STARTER_CONFIG, PipelineConfig, parse_config
from sluiceway.deploy.lambdas import BUNDLE_CONFIG_NAME, LAMBDA_TASK_ROOT, function_logical_id
from sluiceway.deploy.template import (
    TemplateOptions,
    build_template,
    definition_path,
    dump_template,
)
from sluiceway.settings import ENV_PREFIX, Settings

FUNCTIONS = {f.name: f.handler for f in PIPELINE_FUNCTIONS}
FUNCTION_ACCESS = {f.name: f.access for f in PIPELINE_FUNCTIONS}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pipeline() -> PipelineConfig:
    return parse_config(STARTER_CONFIG)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(
        input_bucket="acme-sales-input",
        output_bucket="acme-sales-output",
        function_memory_mb=1536,
        function_timeout_s=120.5,
    )


@pytest.fixture(scope="module")
def template(settings: Settings, pipeline: PipelineConfig) -> dict[str, Any]:
    return build_template(settings, pipeline, template_dir=ROOT)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_the_state_machine_is_the_very_asl_file_the_local_runtime_runs(
    template: dict[str, Any],
) -> None:
    machine = template["Resources"]["DataProcessingWorkflow"]["Properties"]
    uri = ROOT / machine["DefinitionUri"]
    assert uri.resolve() == definition_path().resolve()
    assert uri.read_bytes() == workflow_definition().encode("utf-8")


def test_substitutions_cover_every_placeholder_and_nothing_else(
    template: dict[str, Any], settings: Settings
) -> None:
    machine = template["Resources"]["DataProcessingWorkflow"]["Properties"]
    in_file = set(PLACEHOLDER.findall(workflow_definition()))
    assert in_file, "the workflow has placeholders to fill"
    assert set(machine["DefinitionSubstitutions"]) == in_file == set(substitutions(settings))
    for name in FUNCTIONS:
        assert machine["DefinitionSubstitutions"][f"{name}FunctionArn"] == {
            "Fn::GetAtt": [function_logical_id(name), "Arn"]
        }
    assert machine["DefinitionSubstitutions"]["NotificationTopicArn"] == {
        "Ref": "NotificationTopic"
    }


def test_our_validator_accepts_the_definition_after_substitution(settings: Settings) -> None:
    doc = json.loads(parser.substitute(workflow_definition(), substitutions(settings)))
    assert parser.validate(doc) == []
    assert parser.parse(doc).start_at == "ValidateData"


def test_the_rule_matches_what_the_local_router_matches(
    template: dict[str, Any], settings: Settings, pipeline: PipelineConfig
) -> None:
    event = template["Resources"]["DataProcessingWorkflow"]["Properties"]["Events"]["ObjectCreated"]
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["Pattern"] == trigger_pattern(
        pipeline.trigger, settings.input_bucket
    )
    assert event["Properties"]["Pattern"]["detail"]["bucket"] == {"name": ["acme-sales-input"]}
    assert event["Properties"]["RuleName"] == f"{pipeline.name}-trigger"
    assert event["Properties"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    }


def test_a_pattern_naming_its_buckets_is_kept_as_written(settings: Settings) -> None:
    text = STARTER_CONFIG.replace(
        "    object:\n", "    bucket: {name: [elsewhere]}\n    object:\n", 1
    )
    own = parse_config(text)
    template = build_template(settings, own, template_dir=ROOT)
    pattern = template["Resources"]["DataProcessingWorkflow"]["Properties"]["Events"][
        "ObjectCreated"
    ]["Properties"]["Pattern"]
    assert pattern["detail"]["bucket"] == {"name": ["elsewhere"]}


def test_one_function_per_handler_with_settings_and_concurrency(
    template: dict[str, Any], pipeline: PipelineConfig
) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    assert set(functions) == {function_logical_id(name) for name in FUNCTIONS}
    for name, handler in FUNCTIONS.items():
        props = functions[function_logical_id(name)]["Properties"]
        assert props["Handler"] == handler
        assert props["Runtime"] == "python3.12"
        assert props["MemorySize"] == 1536
        assert props["Timeout"] == 121  # seconds, rounded up
        assert props["Tracing"] == "Active"
        assert "AWSLambdaPowertoolsPythonV3-python312-x86_64" in props["Layers"][0]["Fn::Sub"]
        assert props["DeadLetterQueue"] == {
            "Type": "SQS",
            "TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        }
        expected = pipeline.max_concurrency * 10 if name == "ProcessChunk" else 10
        assert props["ReservedConcurrentExecutions"] == expected


def test_without_concurrent_runs_nothing_is_reserved_and_checkov_is_told_why(
    settings: Settings, pipeline: PipelineConfig
) -> None:
    template = build_template(
        settings, pipeline, template_dir=ROOT, options=TemplateOptions(concurrent_runs=None)
    )
    for resource in resources(template, "AWS::Serverless::Function").values():
        assert "ReservedConcurrentExecutions" not in resource["Properties"]
        assert "CKV_AWS_115" in {skip["id"] for skip in resource["Metadata"]["checkov"]["skip"]}


def test_the_environment_configures_settings_for_the_aws_backend(template: dict[str, Any]) -> None:
    fn = template["Resources"][function_logical_id("StoreResults")]["Properties"]
    variables = fn["Environment"]["Variables"]
    assert variables[f"{ENV_PREFIX}BACKEND"] == "aws"
    assert variables[f"{ENV_PREFIX}PIPELINE_CONFIG"] == f"{LAMBDA_TASK_ROOT}/{BUNDLE_CONFIG_NAME}"
    ours = {
        k.removeprefix(ENV_PREFIX).lower(): v
        for k, v in variables.items()
        if k.startswith(ENV_PREFIX)
    }
    assert set(ours) <= set(Settings.model_fields), "every SLUICEWAY_ variable is a setting"
    # With the intrinsics resolved to plausible values, Settings accepts every variable.
    resolved = {k: (v if isinstance(v, str) else "resolved-name") for k, v in ours.items()}
    resolved.update(
        region="eu-west-1",
        account_id="123456789012",
        input_bucket="acme-sales-input",
        output_bucket="acme-sales-output",
    )
    loaded = Settings(**resolved)
    assert loaded.backend == "aws" and loaded.function_timeout_s == 121
    assert variables[f"{ENV_PREFIX}INPUT_BUCKET"] == {"Ref": "InputBucket"}
    assert variables[f"{ENV_PREFIX}TABLE_NAME"] == {"Ref": "MetadataTable"}


def test_buckets_are_encrypted_private_tls_only_and_notify_eventbridge(
    template: dict[str, Any],
) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    assert buckets["InputBucket"]["Properties"]["BucketName"] == "acme-sales-input"
    assert buckets["OutputBucket"]["Properties"]["BucketName"] == "acme-sales-output"
    assert buckets["InputBucket"]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["NotificationConfiguration"] == {
            "EventBridgeConfiguration": {"EventBridgeEnabled": True}
        }
        assert (
            props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
                "ServerSideEncryptionByDefault"
            ]["SSEAlgorithm"]
            == "aws:kms"
        )
        assert (
            all(props["PublicAccessBlockConfiguration"].values())
            and len(props["PublicAccessBlockConfiguration"]) == 4
        )
        assert bucket["DeletionPolicy"] == "Retain"
        policy = template["Resources"][f"{name}Policy"]["Properties"]
        assert policy["Bucket"] == {"Ref": name}
        (deny,) = policy["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }


def test_the_table_lists_runs_by_status_and_time_through_a_sparse_index(
    template: dict[str, Any],
) -> None:
    table = template["Resources"]["MetadataTable"]["Properties"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index == {
        "IndexName": "StatusTimeIndex",
        "KeySchema": [
            {"AttributeName": "Status", "KeyType": "HASH"},
            {"AttributeName": "Timestamp", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    # On demand: an index has no throughput of its own to provision.
    assert "ProvisionedThroughput" not in index and table["BillingMode"] == "PAY_PER_REQUEST"
    # Every key attribute of the table and the index is declared, as a string, once.
    assert sorted(
        (d["AttributeName"], d["AttributeType"]) for d in table["AttributeDefinitions"]
    ) == [("ExecutionId", "S"), ("Status", "S"), ("Timestamp", "S")]


def test_table_topic_queue_and_alarms(template: dict[str, Any]) -> None:
    table = template["Resources"]["MetadataTable"]["Properties"]
    assert table["TableName"] == "ProcessingMetadata"
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["KeySchema"] == [{"AttributeName": "ExecutionId", "KeyType": "HASH"}]
    topics = resources(template, "AWS::SNS::Topic")
    assert topics["NotificationTopic"]["Properties"]["TopicName"] == "PipelineNotifications"
    assert all(t["Properties"]["KmsMasterKeyId"] for t in topics.values())
    subscriptions = resources(template, "AWS::SNS::Subscription")
    assert {s["Properties"]["Endpoint"]["Ref"] for s in subscriptions.values()} == {
        "NotificationEmail",
        "AlarmEmail",
    }
    assert template["Resources"]["DeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    metrics = sorted(
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
    )
    assert metrics == sorted(
        [("AWS/States", "ExecutionsFailed"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
        + [("AWS/Lambda", "Errors")] * len(FUNCTIONS)
    )
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def _policy_templates(policies: list[Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for policy in policies:
        if isinstance(policy, dict) and len(policy) == 1:
            ((name, args),) = policy.items()
            found.setdefault(name, []).append(args)
    return found


def test_functions_get_only_the_access_they_need(template: dict[str, Any]) -> None:
    for name, access in FUNCTION_ACCESS.items():
        policies = _policy_templates(
            template["Resources"][function_logical_id(name)]["Properties"]["Policies"]
        )
        buckets = {
            ("read" if kind == "S3ReadPolicy" else "crud", args["BucketName"]["Ref"])
            for kind in ("S3ReadPolicy", "S3CrudPolicy")
            for args in policies.get(kind, [])
        }
        expected = {
            (mode, "InputBucket" if role == "input" else "OutputBucket")
            for role, mode in access.items()
            if role != "table"
        }
        assert buckets == expected, name
        assert ("DynamoDBCrudPolicy" in policies) == ("table" in access), name
        if "table" in access:
            assert policies["DynamoDBCrudPolicy"] == [{"TableName": {"Ref": "MetadataTable"}}]


def test_the_state_machine_may_invoke_each_function_and_publish_to_its_topic(
    template: dict[str, Any],
) -> None:
    policies = template["Resources"]["DataProcessingWorkflow"]["Properties"]["Policies"]
    found = _policy_templates(policies)
    assert sorted(a["FunctionName"]["Ref"] for a in found["LambdaInvokePolicy"]) == sorted(
        function_logical_id(n) for n in FUNCTIONS
    )
    assert found["SNSPublishMessagePolicy"] == [
        {"TopicName": {"Fn::GetAtt": ["NotificationTopic", "TopicName"]}}
    ]
    statements = [s for p in policies if "Statement" in p for s in p["Statement"]]
    assert all(
        s["Resource"] == "*" and all(a.startswith("logs:") for a in s["Action"]) for s in statements
    )


def test_the_yaml_loads_back_to_the_same_template(template: dict[str, Any]) -> None:
    text = dump_template(template)
    assert text.startswith("# Generated by `sluiceway template`")
    assert yaml.safe_load(text) == template
