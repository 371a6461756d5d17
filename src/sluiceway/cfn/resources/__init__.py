"""One provisioner per resource type; :data:`PROVISIONERS` maps CloudFormation's type names to them.

Types missing here are listed once at start-up as not emulated (never silently
ignored); API Gateway's types are made by :mod:`sluiceway.endpoint.apigateway` from
all of an API's resources at once, after the rest.
"""

from __future__ import annotations

from .anomaly_detectors import AnomalyDetector
from .base import Env, Made, Provisioner, Request, Stored, physical_name
from .cloudwatch import Alarm, CompositeAlarm, Dashboard
from .cognito import (
    UserPool,
    UserPoolClient,
    UserPoolDomain,
    UserPoolGroup,
    UserPoolResourceServer,
    UserPoolUser,
    UserPoolUserToGroupAttachment,
)
from .custom import CustomResource
from .events_http import ApiDestination, Connection
from .function_urls import FunctionUrl
from .functions import Alias, EventInvokeConfig, EventSourceMapping, Function, LayerVersion, Passive, Permission, Version
from .kinesis import KinesisStream
from .logs import AccountPolicy, LogGroup, SubscriptionFilter
from .messaging import Queue, Subscription, Topic
from .metric_filters import MetricFilter
from .orchestration import Activity, EventBus, Rule, Schedule, ScheduleGroup, StateMachine, StateMachineAlias, StateMachineVersion
from .parameters import Parameter
from .pipes import Pipe
from .secrets import Secret
from .ses import ConfigurationSet as SesConfigurationSet
from .ses import EmailIdentity, EmailTemplate
from .storage import Bucket, Table

__all__ = ["API_TYPES", "PROVISIONERS", "Env", "Made", "Provisioner", "Request", "Stored", "physical_name", "provisioner"]

_ROLE_ARN = "arn:aws:iam::{account}:role/{name}"
_POLICY_ARN = "arn:aws:iam::{account}:policy/{name}"

PROVISIONERS: dict[str, Provisioner] = {
    "AWS::SQS::Queue": Queue(),
    "AWS::SNS::Topic": Topic(),
    "AWS::SNS::Subscription": Subscription(),
    "AWS::S3::Bucket": Bucket(),
    "AWS::DynamoDB::Table": Table(),
    "AWS::Events::EventBus": EventBus(),
    "AWS::Events::Rule": Rule(),
    "AWS::Scheduler::Schedule": Schedule(),
    "AWS::Scheduler::ScheduleGroup": ScheduleGroup(),
    "AWS::StepFunctions::StateMachine": StateMachine(),
    "AWS::StepFunctions::StateMachineVersion": StateMachineVersion(),
    "AWS::StepFunctions::Activity": Activity(),
    "AWS::Kinesis::Stream": KinesisStream(),
    "AWS::Events::Connection": Connection(),
    "AWS::Events::ApiDestination": ApiDestination(),
    "AWS::StepFunctions::StateMachineAlias": StateMachineAlias(),
    "AWS::Lambda::Function": Function(),
    "AWS::Lambda::EventSourceMapping": EventSourceMapping(),
    "AWS::Lambda::EventInvokeConfig": EventInvokeConfig(),
    "AWS::Lambda::Permission": Permission(),
    "AWS::Lambda::Version": Version(),
    "AWS::Lambda::Alias": Alias(),
    "AWS::Lambda::LayerVersion": LayerVersion(),
    "AWS::Lambda::Url": FunctionUrl(),
    "AWS::Lambda::LayerVersionPermission": Passive("lambda", "layer-permission"),
    "AWS::Logs::LogGroup": LogGroup(),
    "AWS::SSM::Parameter": Parameter(),
    "AWS::SecretsManager::Secret": Secret(),
    "AWS::SES::EmailIdentity": EmailIdentity(),
    "AWS::SES::Template": EmailTemplate(),
    "AWS::SES::ConfigurationSet": SesConfigurationSet(),
    "AWS::Pipes::Pipe": Pipe(),
    "AWS::Logs::MetricFilter": MetricFilter(),
    "AWS::CloudWatch::Alarm": Alarm(),
    "AWS::CloudWatch::AnomalyDetector": AnomalyDetector(),
    "AWS::CloudWatch::CompositeAlarm": CompositeAlarm(),
    "AWS::CloudWatch::Dashboard": Dashboard(),
    "AWS::CloudFormation::CustomResource": CustomResource(),
    "AWS::Cognito::UserPool": UserPool(),
    "AWS::Cognito::UserPoolClient": UserPoolClient(),
    "AWS::Cognito::UserPoolGroup": UserPoolGroup(),
    "AWS::Cognito::UserPoolResourceServer": UserPoolResourceServer(),
    "AWS::Cognito::UserPoolUser": UserPoolUser(),
    "AWS::Cognito::UserPoolUserToGroupAttachment": UserPoolUserToGroupAttachment(),
    "AWS::Cognito::UserPoolDomain": UserPoolDomain(),
    # Accepted: locally every service may call every other, so IAM and resource policies change nothing.
    "AWS::IAM::Role": Passive("iam", "role", name_key="RoleName", arn_format=_ROLE_ARN),
    "AWS::IAM::Policy": Passive("iam", "policy", name_key="PolicyName"),
    "AWS::IAM::ManagedPolicy": Passive("iam", "policy", name_key="ManagedPolicyName", arn_format=_POLICY_ARN),
    "AWS::IAM::InstanceProfile": Passive("iam", "instance-profile", name_key="InstanceProfileName"),
    "AWS::SQS::QueuePolicy": Passive("sqs", "policy"),
    "AWS::SNS::TopicPolicy": Passive("sns", "policy"),
    "AWS::S3::BucketPolicy": Passive("s3", "policy"),
    "AWS::Events::EventBusPolicy": Passive("events", "policy"),
    "AWS::Logs::ResourcePolicy": Passive("logs", "policy"),
    "AWS::Logs::LogStream": Passive("logs", "stream", name_key="LogStreamName"),
    "AWS::Logs::SubscriptionFilter": SubscriptionFilter(),
    "AWS::Logs::AccountPolicy": AccountPolicy(),
    "AWS::ApiGateway::Account": Passive("apigateway", "account"),
    "AWS::CloudFormation::WaitConditionHandle": Passive("cloudformation", "wait"),
}

API_TYPES = frozenset(
    {
        "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method", "AWS::ApiGateway::Model", "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::GatewayResponse", "AWS::ApiGateway::BasePathMapping", "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlanKey",
        "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Deployment", "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::ApiMapping",
    }
)  # fmt: skip
"""API Gateway's types: made together by the gateway once every other resource exists."""


def provisioner(resource_type: str) -> Provisioner | None:
    """The provisioner of ``resource_type`` (``Custom::*`` are custom resources); None: not emulated."""
    if resource_type.startswith("Custom::"):
        return PROVISIONERS["AWS::CloudFormation::CustomResource"]
    return PROVISIONERS.get(resource_type)
