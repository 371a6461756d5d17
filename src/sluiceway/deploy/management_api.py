"""Sluiceway's management API on AWS: the same FastAPI app as a Lambda behind an HttpApi with a Cognito JWT authorizer.

The template gets a user pool of its own (groups ``viewer``, ``operator``, ``admin``; a public
client for people, a confidential client_credentials client for machines; the resource server
``sluiceway`` with scopes ``read``, ``operate``, ``admin``), an HttpApi whose JWT authorizer takes
that pool's tokens (the issuer ``https://cognito-idp.{region}.amazonaws.com/{poolId}``, the two
clients as audience), and the function ``sluiceway.api.lambda_handler.handler`` routed at
``/_sluiceway/api/{proxy+}``: the same paths as on the local endpoint.

The function's role allows the calls its routes make and nothing else: reads on the account's
resources of each kind it lists (and CloudWatch's metrics, which IAM grants on ``*`` only), actions
on this stack's state machine, buckets and dead-letter queue, this stack's CloudFormation
description, user administration on this stack's pool only. The function is told its stack's name
(``SLUICEWAY_STACK_NAME``) so that ``/resources`` reads that stack and no other.
"""

from __future__ import annotations

from typing import Any

from ..cognito import roles
from ._cfn import DLQ, KEY, getatt, ref, skips, sub

__all__ = ["API_PATH", "HANDLER", "LIST_ONLY_ACTIONS", "add_management_api"]

HANDLER = "sluiceway.api.lambda_handler.handler"
API_PATH = "/_sluiceway/api"
POOL = "ManagementUserPool"
USER_CLIENT = "ManagementUserPoolClient"
MACHINE_CLIENT = "ManagementMachineClient"
RESOURCE_SERVER = "ManagementResourceServer"
API = "ManagementHttpApi"
FUNCTION = "ManagementApiFunction"

#: Actions IAM grants on ``"Resource": "*"`` only (they have no resource type), which the API needs:
#: the listings, CloudWatch's metric reads and a subscription's attributes (SNS has no subscription resource type).
LIST_ONLY_ACTIONS = frozenset(
    {
        "states:ListStateMachines",
        "s3:ListAllMyBuckets",
        "sns:ListTopics",
        "sns:GetSubscriptionAttributes",
        "events:ListEventBuses",
        "events:ListRules",
        "cloudwatch:ListMetrics",
        "cloudwatch:GetMetricData",
        "lambda:ListFunctions",
    }
)


def _arn(service: str, resource: str) -> dict[str, str]:
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def _statement(actions: list[str], resources: list[Any] | Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _policies(state_machine: str, input_bucket: str, output_bucket: str) -> list[dict[str, Any]]:
    """Exactly the calls of :mod:`sluiceway.api.routes`, each on the narrowest resource IAM allows."""
    executions = _arn("states", f"execution:${{{state_machine}.Name}}:*")
    buckets = [getatt(input_bucket, "Arn"), getatt(output_bucket, "Arn")]
    statements = [
        _statement(sorted(LIST_ONLY_ACTIONS), "*"),
        _statement(["states:ListExecutions", "states:StartExecution"], ref(state_machine)),
        _statement(
            [
                "states:DescribeExecution",
                "states:DescribeStateMachineForExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
                "states:RedriveExecution",
            ],
            executions,
        ),
        # A Distributed Map's runs: mapRun:<state machine>/<map run label>:<id>.
        _statement(["states:DescribeMapRun"], _arn("states", f"mapRun:${{{state_machine}.Name}}/*")),
        # HeadBucket and ListObjectsV2 are s3:ListBucket; downloads read both buckets, uploads go to the input.
        _statement(["s3:ListBucket"], buckets),
        _statement(["s3:GetObject"], [sub(f"${{{input_bucket}.Arn}}/*"), sub(f"${{{output_bucket}.Arn}}/*")]),
        _statement(["s3:PutObject"], [sub(f"${{{input_bucket}.Arn}}/*")]),
        # ListDeadLetterSourceQueues tells whether a queue is a dead-letter queue before a preview receives from it.
        _statement(["sqs:ListQueues", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues"], _arn("sqs", "*")),
        # StartMessageMoveTask reads and deletes on the dead-letter queue it drains; a preview receives from it.
        _statement(["sqs:StartMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], getatt(DLQ, "Arn")),
        _statement(["sns:ListSubscriptionsByTopic"], _arn("sns", "*")),
        _statement(["events:ListTargetsByRule"], [_arn("events", "rule/*"), _arn("events", "rule/*/*")]),
        _statement(["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"], _arn("cloudwatch", "alarm:*")),
        # The functions page lists the account's functions (ListFunctions), so it reads any one's
        # configuration and, under Lambda's log group prefix, its log (this stack's group is there too).
        _statement(["lambda:GetFunctionConfiguration"], _arn("lambda", "function:*")),
        _statement(["logs:FilterLogEvents"], _arn("logs", "log-group:/aws/lambda/*")),
        # This stack only: /resources reads the stack it is told (SLUICEWAY_STACK_NAME), never lists the account's.
        _statement(
            ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"], _arn("cloudformation", "stack/${AWS::StackName}/*")
        ),
        _statement(
            [
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminCreateUser",
                "cognito-idp:AdminDeleteUser",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminListGroupsForUser",
                "cognito-idp:AdminRemoveUserFromGroup",
                "cognito-idp:AdminSetUserPassword",
                "cognito-idp:ListGroups",
                "cognito-idp:ListUsers",
            ],
            getatt(POOL, "Arn"),
        ),
    ]
    return [{"Version": "2012-10-17", "Statement": statements}]


def _cognito() -> dict[str, Any]:
    resources: dict[str, Any] = {
        POOL: {
            "Type": "AWS::Cognito::UserPool",
            # The API's users outlive a stack that is deleted and made again, as the buckets' data does.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": sub("sluiceway-${AWS::StackName}"),
                # Users are made by admins (`POST /users`, `sluiceway users add`), never by signing up.
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "UsernameConfiguration": {"CaseSensitive": False},
                "Policies": {
                    "PasswordPolicy": {
                        "MinimumLength": 12,
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                        "TemporaryPasswordValidityDays": 7,
                    }
                },
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]},
            },
        },
        RESOURCE_SERVER: {
            "Type": "AWS::Cognito::UserPoolResourceServer",
            "Properties": {
                "UserPoolId": ref(POOL),
                "Identifier": roles.RESOURCE_SERVER,
                "Name": "Sluiceway management API",
                "Scopes": [{"ScopeName": name, "ScopeDescription": text} for name, text in roles.SCOPES],
            },
        },
        USER_CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": ref(POOL),
                "ClientName": "sluiceway",
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "AccessTokenValidity": 60,
                "IdTokenValidity": 60,
                "RefreshTokenValidity": 30,
                "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
            },
        },
        MACHINE_CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient",
            "DependsOn": RESOURCE_SERVER,  # its scopes must exist first
            "Properties": {
                "UserPoolId": ref(POOL),
                "ClientName": "sluiceway-machine",
                "GenerateSecret": True,
                "PreventUserExistenceErrors": "ENABLED",
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["client_credentials"],
                # Automation reads and operates; managing users stays with people.
                "AllowedOAuthScopes": [roles.scope_name("read"), roles.scope_name("operate")],
                "AccessTokenValidity": 60,
                "TokenValidityUnits": {"AccessToken": "minutes"},
            },
        },
        "ManagementUserPoolDomain": {
            # The OAuth2 token endpoint (client_credentials) is served on a domain; its prefix is global.
            "Type": "AWS::Cognito::UserPoolDomain",
            "Condition": "HasManagementApiDomain",
            "Properties": {"UserPoolId": ref(POOL), "Domain": ref("ManagementApiDomainPrefix")},
        },
    }
    for precedence, (name, description) in enumerate(roles.GROUPS, start=1):
        resources[f"Management{name.capitalize()}Group"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"UserPoolId": ref(POOL), "GroupName": name, "Description": description, "Precedence": precedence},
        }
    return resources


def _api(log_retention_days: int) -> dict[str, Any]:
    log_group: dict[str, Any] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": sub("/aws/vendedlogs/sluiceway/${AWS::StackName}-management-api"),
            "RetentionInDays": log_retention_days,
            "KmsKeyId": getatt(KEY, "Arn"),
        },
    }
    if log_retention_days < 365:
        log_group["Metadata"] = skips([("CKV_AWS_338", f"Retention chosen at generation: {log_retention_days} days.")])
    access_log = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "sub": "$context.authorizer.claims.sub",
        "authorizerError": "$context.authorizer.error",
        "integrationError": "$context.integrationErrorMessage",
    }
    return {
        "ManagementApiLogGroup": log_group,
        API: {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Description": "Sluiceway management API",
                "Auth": {
                    "DefaultAuthorizer": "CognitoJwt",
                    "Authorizers": {
                        "CognitoJwt": {
                            "IdentitySource": "$request.header.Authorization",
                            "JwtConfiguration": {
                                # Cognito's issuer, exactly: the local pools' tokens carry the same one.
                                "issuer": sub(f"https://cognito-idp.${{AWS::Region}}.amazonaws.com/${{{POOL}}}"),
                                # Access tokens have no aud: the authorizer then matches client_id to these.
                                "audience": [ref(USER_CLIENT), ref(MACHINE_CLIENT)],
                            },
                        }
                    },
                },
                "AccessLogSettings": {
                    "DestinationArn": getatt("ManagementApiLogGroup", "Arn"),
                    "Format": _json_format(access_log),
                },
                "DefaultRouteSettings": {"ThrottlingBurstLimit": 50, "ThrottlingRateLimit": 20},
            },
        },
    }


def _json_format(fields: dict[str, str]) -> str:
    return "{" + ",".join(f'"{k}":"{v}"' for k, v in fields.items()) + "}"


def _function(code_uri: str, state_machine: str, input_bucket: str, output_bucket: str, reserved: int | None) -> dict[str, Any]:
    def route(path: str, method: str, *, public: bool = False) -> dict[str, Any]:
        properties: dict[str, Any] = {"ApiId": ref(API), "Path": path, "Method": method}
        if public:
            # The OpenAPI document describes the API; it holds no data, so it is readable without a token.
            properties["Auth"] = {"Authorizer": "NONE"}
        return {"Type": "HttpApi", "Properties": properties}

    return {
        FUNCTION: {
            "Type": "AWS::Serverless::Function",
            "Metadata": skips(
                [
                    ("CKV_AWS_117", "No VPC resources are used; AWS's APIs are reached over their public endpoints with IAM."),
                    ("CKV_AWS_173", "The environment holds the user pool's id and the stack's name, no secret; Lambda encrypts it."),
                    ("CKV_AWS_272", "Code signing needs an AWS Signer profile; the bundle's integrity comes from the deploy pipeline."),
                ]
                + ([] if reserved else [("CKV_AWS_115", "Concurrency is not reserved (generated with concurrent runs unset).")])
            ),
            "Properties": {
                "Description": "Sluiceway management API",
                "CodeUri": code_uri,
                "Handler": HANDLER,
                "Runtime": "python3.12",
                "Architectures": ["x86_64"],
                "MemorySize": 512,
                # An HttpApi gives its integration 30 seconds at most.
                "Timeout": 29,
                "Tracing": "Active",
                # Reserved only when the pipeline's functions are: a new account's concurrency quota
                # (10) leaves nothing to reserve, and CloudFormation then refuses the function.
                **({"ReservedConcurrentExecutions": reserved} if reserved else {}),
                "Environment": {
                    "Variables": {
                        "SLUICEWAY_API_USER_POOL_ID": ref(POOL),
                        "SLUICEWAY_STACK_NAME": ref("AWS::StackName"),
                        "SLUICEWAY_LOG_LEVEL": "INFO",
                    }
                },
                "LoggingConfig": {"LogGroup": ref("FunctionLogGroup")},
                "DeadLetterQueue": {"Type": "SQS", "TargetArn": getatt(DLQ, "Arn")},
                "Policies": _policies(state_machine, input_bucket, output_bucket),
                "Events": {
                    "Api": route(f"{API_PATH}/{{proxy+}}", "ANY"),
                    "OpenApi": route(f"{API_PATH}/openapi.json", "GET", public=True),
                },
            },
        }
    }


def add_management_api(
    template: dict[str, Any],
    *,
    code_uri: str,
    state_machine: str,
    input_bucket: str = "InputBucket",
    output_bucket: str = "OutputBucket",
    log_retention_days: int = 365,
    reserved_concurrency: int | None = 10,
) -> dict[str, Any]:
    """``template`` with the management API added (its resources, a parameter, a condition, outputs); returned for chaining.

    Args:
        code_uri: the Lambda bundle (the pipeline's functions' own: it holds the ``sluiceway`` package).
        state_machine: the logical id of the state machine the API starts, stops and redrives.
        input_bucket: the logical id of the bucket uploads go to (downloads read it and ``output_bucket``).
        reserved_concurrency: the function's reserved concurrency (None: none reserved).
    """
    template["Resources"].update(_cognito())
    template["Resources"].update(_api(log_retention_days))
    template["Resources"].update(_function(code_uri, state_machine, input_bucket, output_bucket, reserved_concurrency))
    template.setdefault("Parameters", {})["ManagementApiDomainPrefix"] = {
        "Type": "String",
        "Default": "",
        "Description": "Cognito domain prefix for the management API's OAuth2 token endpoint (machine clients); empty: none",
        "AllowedPattern": r"^$|^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    }
    template.setdefault("Conditions", {})["HasManagementApiDomain"] = {"Fn::Not": [{"Fn::Equals": [ref("ManagementApiDomainPrefix"), ""]}]}
    template.setdefault("Outputs", {}).update(
        {
            "ManagementApiUrl": {
                "Description": "The management API (its OpenAPI document is at /openapi.json under it)",
                "Value": sub(f"https://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{API_PATH}"),
            },
            "ManagementUserPoolId": {"Value": ref(POOL)},
            "ManagementUserPoolClientId": {"Description": "Sign in with USER_PASSWORD_AUTH", "Value": ref(USER_CLIENT)},
            "ManagementMachineClientId": {
                "Description": "client_credentials (its secret is in the Cognito console)",
                "Value": ref(MACHINE_CLIENT),
            },
        }
    )
    return template
