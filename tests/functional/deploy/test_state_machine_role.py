"""The deployed state machine may do what its Task states do: each integration declares its IAM
actions (runtime/orchestration/permissions.py adds them up), and the template's policies must grant them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sluiceway.config import STARTER_CONFIG, parse_config
from sluiceway.deploy.template import build_template
from sluiceway.runtime.orchestration.permissions import required_actions
from sluiceway.settings import Settings

ROOT = Path(__file__).resolve().parents[3]

# What the SAM policy templates the generator uses allow (AWS SAM's policy_templates.json).
SAM_POLICY_ACTIONS = {
    "LambdaInvokePolicy": {"lambda:InvokeFunction"},
    "SNSPublishMessagePolicy": {"sns:Publish"},
}


def granted(policies: list[Any]) -> set[str]:
    actions: set[str] = set()
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                listed = statement["Action"]
                actions.update([listed] if isinstance(listed, str) else listed)
        elif isinstance(policy, dict):
            ((name, _),) = policy.items()
            actions.update(SAM_POLICY_ACTIONS[name])
    return actions


def test_the_state_machine_role_grants_every_action_its_tasks_need() -> None:
    template = build_template(Settings(), parse_config(STARTER_CONFIG), template_dir=ROOT)
    machine = template["Resources"]["DataProcessingWorkflow"]["Properties"]
    definition = json.loads((ROOT / machine["DefinitionUri"]).read_text(encoding="utf-8"))
    needed = required_actions(definition)
    assert {"lambda:InvokeFunction", "sns:Publish"} <= needed
    assert needed <= granted(machine["Policies"])


def test_required_actions_read_nested_states_and_refuse_an_unknown_service() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}},
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "End": True,
                                "ItemProcessor": {
                                    "StartAt": "E",
                                    "States": {
                                        "E": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken", "End": True}
                                    },
                                },
                            }
                        },
                    },
                ],
            }
        },
    }
    assert required_actions(definition) == {"sqs:SendMessage", "events:PutEvents"}
    unknown = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun", "End": True}}}
    with pytest.raises(KeyError):
        required_actions(unknown)


def test_required_actions_of_a_distributed_map_its_reader_and_writer() -> None:
    def fan(reader: str | None, writer: bool) -> dict[str, Any]:
        state: dict[str, Any] = {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Call",
                "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}},
            },
            "End": True,
        }
        if reader is not None:
            state["ItemReader"] = {"Resource": f"arn:aws:states:::s3:{reader}", "Parameters": {"Bucket": "b"}}
        if writer:
            state["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}}
        return {"StartAt": "Fan", "States": {"Fan": state}}

    run = {"states:StartExecution", "states:DescribeExecution", "states:StopExecution", "lambda:InvokeFunction"}
    assert required_actions(fan(None, writer=False)) == run
    assert required_actions(fan("getObject", writer=False)) == run | {"s3:GetObject"}
    assert required_actions(fan("listObjectsV2", writer=False)) == run | {"s3:ListBucket"}
    assert required_actions(fan(None, writer=True)) == run | {
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
    }
    inline = fan(None, writer=False)
    inline["States"]["Fan"]["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
    assert required_actions(inline) == {"lambda:InvokeFunction"}


def test_required_actions_of_child_executions() -> None:
    def child(resource: str) -> dict[str, Any]:
        return {"StartAt": "C", "States": {"C": {"Type": "Task", "Resource": f"arn:aws:states:::{resource}", "End": True}}}

    assert required_actions(child("states:startExecution")) == {"states:StartExecution"}
    assert required_actions(child("states:startExecution.sync:2")) == {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    }
