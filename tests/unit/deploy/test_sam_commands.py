"""The SAM CLI invocations of a deploy: a build, then a deploy that asks nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.deploy.sam import deploy_commands


def test_build_then_a_non_interactive_deploy_of_the_built_template() -> None:
    plan = deploy_commands(
        Path("stack/template.yaml"),
        sam="/opt/bin/sam",
        stack_name="sluiceway-sales",
        region="eu-west-1",
        parameters={"NotificationEmail": "ops@example.com", "AlarmEmail": None, "Suffix": ""},
    )
    build, deploy = plan.commands
    assert build == (
        "/opt/bin/sam",
        "build",
        "--template-file",
        "stack/template.yaml",
        "--build-dir",
        "stack/.aws-sam/build",
    )
    assert deploy[:2] == ("/opt/bin/sam", "deploy")
    assert deploy[deploy.index("--template-file") + 1] == "stack/.aws-sam/build/template.yaml"
    assert plan.deployed_template == Path("stack/.aws-sam/build/template.yaml")
    assert deploy[deploy.index("--stack-name") + 1] == "sluiceway-sales"
    assert deploy[deploy.index("--region") + 1] == "eu-west-1"
    assert deploy[deploy.index("--capabilities") + 1] == "CAPABILITY_IAM"
    for flag in ("--resolve-s3", "--no-confirm-changeset", "--no-fail-on-empty-changeset"):
        assert flag in deploy
    assert "--guided" not in deploy
    # A parameter left out (None) keeps the template's default; an empty one (`Suffix=`) is a value.
    assert deploy[deploy.index("--parameter-overrides") + 1 :] == ("NotificationEmail=ops@example.com", "Suffix=")


def test_without_build_the_template_itself_is_deployed_and_containers_are_optional() -> None:
    plan = deploy_commands(
        Path("template.yaml"), sam="sam", stack_name="s1", region="us-east-1", build=False
    )
    (deploy,) = plan.commands
    assert deploy[deploy.index("--template-file") + 1] == "template.yaml"
    assert "--parameter-overrides" not in deploy
    built = deploy_commands(
        Path("template.yaml"), sam="sam", stack_name="s1", region="us-east-1", use_container=True
    )
    assert built.commands[0][-1] == "--use-container"


@pytest.mark.parametrize("name", ["", "1stack", "my_stack", "a" * 129, "stack name"])
def test_invalid_stack_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid stack name"):
        deploy_commands(Path("t.yaml"), sam="sam", stack_name=name, region="us-east-1")
