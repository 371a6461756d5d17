"""AWS SDK service integrations' resources: ``arn:aws:states:::aws-sdk:<service>:<apiAction>``.

Step Functions names a service by its AWS SDK for Java 2.x client (``sfn``, ``eventbridge``,
``cloudwatchlogs``, ``cognitoidentityprovider``...) and an API action in camel case
(``getItem``); its errors are ``<Prefix>.<ErrorName>`` with the service's exception prefix
(``DynamoDb.ConditionalCheckFailedException``). The services and prefixes are those of the
Step Functions developer guide ("AWS SDK service integrations"); a resource naming another
service, an action not in camel case, or an integration pattern other than
``.waitForTaskToken`` is refused as CreateStateMachine refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SDK_PREFIX", "SDK_SERVICES", "SdkResource", "parse_sdk_resource", "sdk_resource_problem", "unrecognized"]

SDK_PREFIX = "arn:aws:states:::aws-sdk:"

_PREFIXES = """
account:Account acm:Acm acmpca:AcmPca accessanalyzer:AccessAnalyzer alexaforbusiness:AlexaForBusiness amp:Amp
amplify:Amplify amplifybackend:AmplifyBackend amplifyuibuilder:AmplifyUiBuilder apigateway:ApiGateway
apigatewayv2:ApiGatewayV2 appconfig:AppConfig appconfigdata:AppConfigData appflow:Appflow appintegrations:AppIntegrations
applicationautoscaling:ApplicationAutoScaling applicationdiscovery:ApplicationDiscovery
applicationinsights:ApplicationInsights appmesh:AppMesh appstream:AppStream appsync:AppSync athena:Athena
auditmanager:AuditManager autoscaling:AutoScaling autoscalingplans:AutoScalingPlans backup:Backup
backupgateway:BackupGateway batch:Batch bedrock:Bedrock bedrockagent:BedrockAgent bedrockagentruntime:BedrockAgentRuntime
bedrockruntime:BedrockRuntime braket:Braket budgets:Budgets chime:Chime chimesdkmeetings:ChimeSdkMeetings cloud9:Cloud9
cloudcontrol:CloudControl clouddirectory:CloudDirectory cloudformation:CloudFormation cloudfront:CloudFront
cloudhsm:CloudHsm cloudhsmv2:CloudHsmV2 cloudsearch:CloudSearch cloudtrail:CloudTrail cloudwatch:CloudWatch
cloudwatchlogs:CloudWatchLogs codeartifact:Codeartifact codebuild:CodeBuild codecommit:CodeCommit codedeploy:CodeDeploy
codeguruprofiler:CodeGuruProfiler codegurureviewer:CodeGuruReviewer codepipeline:CodePipeline codestar:CodeStar
codestarconnections:CodeStarConnections codestarnotifications:CodestarNotifications cognitoidentity:CognitoIdentity
cognitoidentityprovider:CognitoIdentityProvider cognitosync:CognitoSync comprehend:Comprehend
comprehendmedical:ComprehendMedical computeoptimizer:ComputeOptimizer config:Config connect:Connect
connectcontactlens:ConnectContactLens connectparticipant:ConnectParticipant costandusagereport:CostAndUsageReport
costexplorer:CostExplorer databasemigration:DatabaseMigration databrew:DataBrew dataexchange:DataExchange
datapipeline:DataPipeline datasync:DataSync dax:Dax detective:Detective devicefarm:DeviceFarm devopsguru:DevOpsGuru
directconnect:DirectConnect directory:Directory dlm:Dlm docdb:DocDb drs:Drs dynamodb:DynamoDb
dynamodbstreams:DynamoDbStreams ebs:Ebs ec2:Ec2 ec2instanceconnect:Ec2InstanceConnect ecr:Ecr ecrpublic:EcrPublic ecs:Ecs
efs:Efs eks:Eks elasticache:ElastiCache elasticbeanstalk:ElasticBeanstalk elasticinference:ElasticInference
elasticloadbalancing:ElasticLoadBalancing elasticloadbalancingv2:ElasticLoadBalancingV2 elasticsearch:Elasticsearch
elastictranscoder:ElasticTranscoder emr:Emr emrcontainers:EmrContainers emrserverless:EmrServerless
eventbridge:EventBridge evidently:Evidently firehose:Firehose fis:Fis fms:Fms forecast:Forecast
forecastquery:Forecastquery frauddetector:FraudDetector fsx:FSx gamelift:GameLift glacier:Glacier glue:Glue
grafana:Grafana greengrass:Greengrass greengrassv2:GreengrassV2 groundstation:GroundStation guardduty:GuardDuty
healthlake:HealthLake honeycode:Honeycode iam:Iam identitystore:Identitystore imagebuilder:Imagebuilder
inspector:Inspector inspector2:Inspector2 iot:Iot iot1clickprojects:Iot1ClickProjects iotanalytics:IoTAnalytics
iotdeviceadvisor:IotDeviceAdvisor iotevents:IotEvents ioteventsdata:IotEventsData iotfleethub:IoTFleetHub
iotjobsdataplane:IotJobsDataPlane iotsecuretunneling:IoTSecureTunneling iotsitewise:IoTSiteWise
iotthingsgraph:IoTThingsGraph iotwireless:IotWireless ivs:Ivs kafka:Kafka kafkaconnect:KafkaConnect kendra:Kendra
kinesis:Kinesis kinesisanalytics:KinesisAnalytics kinesisanalyticsv2:KinesisAnalyticsV2 kinesisvideo:KinesisVideo
kinesisvideoarchivedmedia:KinesisVideoArchivedMedia kinesisvideomedia:KinesisVideoMedia
kinesisvideosignaling:KinesisVideoSignaling kms:Kms lakeformation:LakeFormation lambda:Lambda
lexmodelbuilding:LexModelBuilding lexmodelsv2:LexModelsV2 lexruntime:LexRuntime lexruntimev2:LexRuntimeV2
licensemanager:LicenseManager lightsail:Lightsail location:Location lookoutvision:LookoutVision macie2:Macie2
managedblockchain:ManagedBlockchain marketplacecatalog:MarketplaceCatalog
marketplacecommerceanalytics:MarketplaceCommerceAnalytics marketplaceentitlement:MarketplaceEntitlement
marketplacemetering:MarketplaceMetering mediaconnect:MediaConnect medialive:MediaLive mediapackage:MediaPackage
mediapackagevod:MediaPackageVod mediastore:MediaStore mediatailor:MediaTailor memorydb:MemoryDB migrationhub:MigrationHub
migrationhubconfig:MigrationHubConfig migrationhubstrategy:MigrationHubStrategy mq:Mq mturk:MTurk mwaa:Mwaa
neptune:Neptune networkfirewall:NetworkFirewall opensearch:OpenSearch opsworks:OpsWorks opsworkscm:OpsWorksCm
organizations:Organizations outposts:Outposts panorama:Panorama personalize:Personalize
personalizeevents:PersonalizeEvents personalizeruntime:PersonalizeRuntime pi:Pi pinpoint:Pinpoint
pinpointemail:PinpointEmail pinpointsmsvoice:PinpointSmsVoice pipes:Pipes polly:Polly pricing:Pricing qldb:Qldb
qldbsession:QldbSession quicksight:QuickSight ram:Ram rbin:Rbin rds:Rds rdsdata:RdsData redshift:Redshift
redshiftdata:RedshiftData rekognition:Rekognition resiliencehub:Resiliencehub resourcegroups:ResourceGroups
resourcegroupstaggingapi:ResourceGroupsTaggingApi robomaker:RoboMaker route53:Route53 route53domains:Route53Domains
route53resolver:Route53Resolver rum:Rum s3:S3 s3control:S3Control s3outposts:S3Outposts sagemaker:SageMaker
sagemakera2iruntime:SageMakerA2IRuntime sagemakeredge:SagemakerEdge
sagemakerfeaturestoreruntime:SageMakerFeatureStoreRuntime sagemakerruntime:SageMakerRuntime savingsplans:Savingsplans
scheduler:Scheduler schemas:Schemas secretsmanager:SecretsManager securityhub:SecurityHub
serverlessapplicationrepository:ServerlessApplicationRepository servicecatalog:ServiceCatalog
servicecatalogappregistry:ServiceCatalogAppRegistry servicediscovery:ServiceDiscovery servicequotas:ServiceQuotas
ses:Ses sesv2:SesV2 sfn:Sfn shield:Shield signer:Signer sms:Sms snowball:Snowball sns:Sns sqs:Sqs ssm:Ssm sso:Sso
ssoadmin:SsoAdmin ssooidc:SsoOidc storagegateway:StorageGateway sts:Sts support:Support swf:Swf synthetics:Synthetics
textract:Textract transcribe:Transcribe transfer:Transfer translate:Translate voiceid:VoiceId waf:Waf
wafregional:WafRegional wafv2:Wafv2 wellarchitected:WellArchitected wisdom:Wisdom workdocs:WorkDocs workmail:WorkMail
workmailmessageflow:WorkMailMessageFlow workspaces:WorkSpaces workspacesweb:WorkSpacesWeb xray:XRay
"""

SDK_SERVICES: Mapping[str, str] = dict(pair.split(":") for pair in _PREFIXES.split())
"""The Step Functions service name (``dynamodb``) -> its exception prefix (``DynamoDb``)."""

#: Actions of supported services that Step Functions does not offer (the guide's list).
_UNSUPPORTED: Mapping[str, frozenset[str]] = {
    "comprehendmedical": frozenset({"detectEntities"}),
    "efs": frozenset({"createTags"}),
    "elastictranscoder": frozenset({"testRole"}),
    "emr": frozenset({"describeJobFlows"}),
    "iotdeviceadvisor": frozenset({"listTestCases"}),
    "kinesis": frozenset({"subscribeToShard"}),
    "lambda": frozenset({"invokeAsync"}),
    "lexruntimev2": frozenset({"startConversation"}),
    "mediapackage": frozenset({"rotateChannelCredentials"}),
    "rdsdata": frozenset({"executeSql"}),
    "s3": frozenset({"selectObjectContent"}),
    "s3control": frozenset({"selectObjectContent"}),
    "shield": frozenset({"deleteSubscription"}),
}

# An API action is camel case: ``getItem``; ``GetItem`` and ``get_item`` name nothing.
_ACTION = re.compile(r"[a-z][A-Za-z0-9]*")
_WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"


@dataclass(frozen=True)
class SdkResource:
    """``arn:aws:states:::aws-sdk:dynamodb:getItem[.waitForTaskToken]`` taken apart."""

    service: str
    """The Step Functions service name: ``dynamodb``."""
    action: str
    """The API action, camel case: ``getItem``."""
    wait_for_task_token: bool = False

    @property
    def exception_prefix(self) -> str:
        """What the service's errors are prefixed with (``DynamoDb``)."""
        return SDK_SERVICES[self.service]


def unrecognized(resource: str) -> str:
    """CreateStateMachine's words for a resource it does not know (recorded against AWS)."""
    return (
        f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
        "or the resource is not available in this region."
    )


def parse_sdk_resource(resource: str) -> SdkResource | None:
    """The parts of an AWS SDK integration's resource; None when ``resource`` is none, or names
    a service, action or integration pattern Step Functions does not have."""
    if not resource.startswith(SDK_PREFIX):
        return None
    rest = resource[len(SDK_PREFIX) :]
    wait = rest.endswith(_WAIT_FOR_TASK_TOKEN)
    rest = rest.removesuffix(_WAIT_FOR_TASK_TOKEN)
    service, _, action = rest.partition(":")
    # ``.sync`` (a job run to its end) is only for optimised integrations: the action's name
    # then holds a dot and is refused like any unknown action.
    if service not in SDK_SERVICES or not _ACTION.fullmatch(action) or action in _UNSUPPORTED.get(service, ()):
        return None
    return SdkResource(service, action, wait)


def sdk_resource_problem(resource: str) -> str | None:
    """Why CreateStateMachine refuses an ``aws-sdk`` Task resource (None when it does not, or
    when ``resource`` is no AWS SDK integration)."""
    if not resource.startswith(SDK_PREFIX) or parse_sdk_resource(resource) is not None:
        return None
    return unrecognized(resource)
