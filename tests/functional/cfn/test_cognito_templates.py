"""AWS::Cognito::* resources made from templates: what Ref and Fn::GetAtt give, updates in place, replacements, deletes, restarts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

Aws = Callable[..., Any]
PASSWORD = "Correct-horse-42"

POOL = """
Resources:
  Pool:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: people
      {username_setting}
      Policies:
        PasswordPolicy:
          MinimumLength: 10
      LambdaConfig:
        PreSignUp: arn:aws:lambda:us-east-1:111111111111:function:screen
  Web:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Pool
      ClientName: web
      ExplicitAuthFlows: {flows}
  Jobs:
    Type: AWS::Cognito::UserPoolResourceServer
    Properties:
      UserPoolId: !Ref Pool
      Identifier: jobs
      Name: Jobs
      Scopes:
        - ScopeName: read
          ScopeDescription: Read jobs
  Machine:
    Type: AWS::Cognito::UserPoolClient
    DependsOn: Jobs
    Properties:
      UserPoolId: !Ref Pool
      GenerateSecret: true
      AllowedOAuthFlows: [client_credentials]
      AllowedOAuthFlowsUserPoolClient: true
      AllowedOAuthScopes: [jobs/read]
{groups}
  Alice:
    Type: AWS::Cognito::UserPoolUser
    Properties:
      UserPoolId: !Ref Pool
      Username: alice@example.com
      MessageAction: SUPPRESS
      UserAttributes:
        - Name: email
          Value: alice@example.com
  AliceIsAdmin:
    Type: AWS::Cognito::UserPoolUserToGroupAttachment
    Properties:
      UserPoolId: !Ref Pool
      GroupName: !Ref Admins
      Username: !Ref Alice
{domain}
Outputs:
  PoolId: {{Value: !Ref Pool}}
  Arn: {{Value: !GetAtt Pool.Arn}}
  ProviderName: {{Value: !GetAtt Pool.ProviderName}}
  ProviderURL: {{Value: !GetAtt Pool.ProviderURL}}
  UserPoolId: {{Value: !GetAtt Pool.UserPoolId}}
  WebId: {{Value: !Ref Web}}
  WebClientId: {{Value: !GetAtt Web.ClientId}}
  WebName: {{Value: !GetAtt Web.Name}}
  MachineId: {{Value: !Ref Machine}}
  MachineSecret: {{Value: !GetAtt Machine.ClientSecret}}
  Server: {{Value: !Ref Jobs}}
  Group: {{Value: !Ref Admins}}
  User: {{Value: !Ref Alice}}
{domain_output}
"""

ADMINS = """
  Admins:
    Type: AWS::Cognito::UserPoolGroup
    Properties:
      UserPoolId: !Ref Pool
      GroupName: admins
      Description: {description}
      Precedence: 1
"""
AUDITORS = """
  Auditors:
    Type: AWS::Cognito::UserPoolGroup
    Properties:
      UserPoolId: !Ref Pool
      GroupName: auditors
"""

DOMAIN = """
  Domain:
    Type: AWS::Cognito::UserPoolDomain
    Properties:
      UserPoolId: !Ref Pool
      Domain: people-{stack}
"""

BOTH_FLOWS = "[ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]"


def template(
    stack: str,
    *,
    flows: str = BOTH_FLOWS,
    description: str = "Administrators",
    auditors: bool = True,
    username_setting: str = "UsernameConfiguration: {CaseSensitive: false}",
    domain: bool = True,
) -> str:
    groups = ADMINS.format(description=description) + (AUDITORS if auditors else "")
    return POOL.format(
        flows=flows,
        groups=groups,
        username_setting=username_setting,
        domain=DOMAIN.format(stack=stack) if domain else "",
        domain_output="  Domain: {Value: !Ref Domain}" if domain else "",
    )


def sign_in(aws: Aws, client_id: str, username: str) -> dict[str, Any]:
    answer = aws("cognito-idp").initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH", ClientId=client_id, AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD}
    )
    return dict(answer["AuthenticationResult"])


def test_each_cognito_type_is_made_with_cloudformation_s_ref_and_attributes(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    deployment = make_stack(app_dir(template("refs")), "refs")
    out = deployment.outputs
    pool = out["PoolId"]
    assert re.fullmatch(r"us-east-1_[A-Za-z0-9]{9}", pool)
    assert out["UserPoolId"] == pool
    assert out["Arn"] == f"arn:aws:cognito-idp:us-east-1:{deployment.document['StackId'].split(':')[4]}:userpool/{pool}"
    assert out["ProviderName"] == f"cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert out["ProviderURL"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert re.fullmatch(r"[a-z0-9]{26}", out["WebId"]) and out["WebClientId"] == out["WebId"]
    assert out["WebName"] == "web"
    assert len(out["MachineSecret"]) == 51
    assert (out["Server"], out["Group"], out["Domain"]) == ("jobs", "admins", "people-refs")
    assert out["User"] == "alice@example.com"

    idp = aws("cognito-idp")
    described = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    assert described["Name"] == "people"
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert described["UsernameConfiguration"] == {"CaseSensitive": False}
    machine = idp.describe_user_pool_client(UserPoolId=pool, ClientId=out["MachineId"])["UserPoolClient"]
    assert machine["ClientSecret"] == out["MachineSecret"]
    assert machine["AllowedOAuthScopes"] == ["jobs/read"]
    assert machine["ClientName"].startswith("refs-Machine-")
    server = idp.describe_resource_server(UserPoolId=pool, Identifier="jobs")["ResourceServer"]
    assert server["Scopes"] == [{"ScopeName": "read", "ScopeDescription": "Read jobs"}]
    assert idp.get_group(UserPoolId=pool, GroupName="admins")["Group"]["Precedence"] == 1
    members = idp.list_users_in_group(UserPoolId=pool, GroupName="admins")["Users"]
    assert [m["Username"] for m in members] == [out["User"]]
    assert idp.describe_user_pool_domain(Domain="people-refs")["DomainDescription"]["UserPoolId"] == pool
    # Read but not acted on locally: said once, at start.
    assert any("LambdaConfig is read but its Lambda triggers are not invoked locally" in w for w in deployment.warnings)
    assert any("/_sluiceway/cognito/oauth2/token" in w for w in deployment.warnings)


def test_updates_in_place_keep_ids_users_and_passwords(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    first = make_stack(app_dir(template("inplace")), "inplace").outputs
    pool, web = first["PoolId"], first["WebId"]
    idp = aws("cognito-idp")
    idp.admin_create_user(UserPoolId=pool, Username="bob@example.com", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="bob@example.com", Password=PASSWORD, Permanent=True)
    assert sign_in(aws, web, "bob@example.com")["AccessToken"]

    # A second start with the same template changes nothing: the user made since still signs in.
    again = make_stack(app_dir(template("inplace")), "inplace").outputs
    assert again == first
    assert sign_in(aws, web, "bob@example.com")["AccessToken"]

    # The client's flows and the group's description change in place (UpdateUserPoolClient, UpdateGroup).
    changed = make_stack(app_dir(template("inplace", flows="[ALLOW_REFRESH_TOKEN_AUTH]", description="Root")), "inplace").outputs
    assert (changed["PoolId"], changed["WebId"], changed["MachineSecret"]) == (pool, web, first["MachineSecret"])
    client = idp.describe_user_pool_client(UserPoolId=pool, ClientId=web)["UserPoolClient"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    with pytest.raises(idp.exceptions.InvalidParameterException, match="USER_PASSWORD_AUTH flow not enabled for this client"):
        sign_in(aws, web, "bob@example.com")
    assert idp.get_group(UserPoolId=pool, GroupName="admins")["Group"]["Description"] == "Root"
    assert idp.admin_get_user(UserPoolId=pool, Username="bob@example.com")["UserStatus"] == "CONFIRMED"


def test_a_group_that_leaves_the_template_is_deleted(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    pool = make_stack(app_dir(template("shrink")), "shrink").outputs["PoolId"]
    idp = aws("cognito-idp")
    assert {g["GroupName"] for g in idp.list_groups(UserPoolId=pool)["Groups"]} == {"admins", "auditors"}
    deployment = make_stack(app_dir(template("shrink", auditors=False)), "shrink")
    assert [g["GroupName"] for g in idp.list_groups(UserPoolId=pool)["Groups"]] == ["admins"]
    assert "Auditors" not in [r["LogicalResourceId"] for r in deployment.document["Resources"]]


def test_changing_how_users_sign_in_replaces_the_pool(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    # No domain: a domain name is unique, so CloudFormation cannot move one to the replacing pool either
    # (it makes the new domain before it deletes the old one).
    first = make_stack(app_dir(template("replace", domain=False)), "replace").outputs
    signing_in_by_email = "UsernameAttributes: [email]\n      UsernameConfiguration: {CaseSensitive: false}"
    replaced = make_stack(app_dir(template("replace", username_setting=signing_in_by_email, domain=False)), "replace").outputs
    # UsernameAttributes cannot change on a pool: a new pool, new clients in it, the old pool deleted.
    assert replaced["PoolId"] != first["PoolId"] and replaced["WebId"] != first["WebId"]
    idp = aws("cognito-idp")
    assert idp.describe_user_pool(UserPoolId=replaced["PoolId"])["UserPool"]["UsernameAttributes"] == ["email"]
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.describe_user_pool(UserPoolId=first["PoolId"])
    assert {g["GroupName"] for g in idp.list_groups(UserPoolId=replaced["PoolId"])["Groups"]} == {"admins", "auditors"}
    # The pool signs in with email addresses now: Cognito names the user (its sub) and Ref gives that name.
    assert re.fullmatch(r"[0-9a-f-]{36}", replaced["User"])
    members = idp.list_users_in_group(UserPoolId=replaced["PoolId"], GroupName="admins")["Users"]
    assert [m["Username"] for m in members] == [replaced["User"]]


def test_a_user_whose_attributes_change_under_the_same_name_is_refused_as_cloudformation_refuses_it(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    make_stack(app_dir(template("rename")), "rename")
    changed = template("rename").replace("          Value: alice@example.com", "          Value: alice@example.org")
    with pytest.raises(TemplateError, match="custom-named resource requires replacing"):
        make_stack(app_dir(changed), "rename")
