"""The management API's requests and responses, so that its OpenAPI document describes every answer.

Members keep AWS's names where they are AWS's values (``executionArn``, ``stateMachineArn``,
``nextToken``): a user who knows the AWS API reads them without a glossary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Alarm", "AlarmList", "Bucket", "BucketList", "CreateUserRequest", "EventBus", "EventBusList", "Execution",
    "ExecutionList", "ExecutionSummary", "Group", "GroupList", "History", "HistoryEvent", "ObjectDetail", "ObjectList",
    "ObjectSummary", "PresignedUrl", "Problem", "QueueDetail", "QueueList", "QueueRedriveRequest", "QueueRedriveTask",
    "Redriven", "Rule", "RuleList", "StartExecutionRequest", "StartedExecution", "StateMachine", "StateMachineList",
    "StopExecutionRequest", "Stopped", "Subscription", "SubscriptionList", "Target", "Topic", "TopicList",
    "UploadRequest", "User", "UserList", "ValidationProblem",
    "AlarmSeries", "AlarmState", "AppResources", "AppStack", "Dashboard", "DeadLetterDepth", "DeadLetterSource", "DeadLetterSources",
    "ExecutionSeries",
    "FunctionDetail",
    "FunctionList", "FunctionMetrics", "FunctionSeries", "FunctionSummary", "LogLine", "MessageAttribute", "PipelineFile",
    "PipelineRows", "PipelineRun", "QueueMessage", "QueueMessages", "RejectsPreview", "Series", "StackOutput",
    "StackResource", "Window",
]  # fmt: skip

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
RoleName = Literal["viewer", "operator", "admin"]


class Problem(BaseModel):
    """Every error: a code (AWS's, when AWS refused) and a message for people."""

    error: str
    message: str


class ValidationProblem(Problem):
    """422: the request does not match this API's schema."""

    detail: list[dict[str, Any]] = []


# ---------------------------------------------------------------- executions


class ExecutionSummary(BaseModel):
    executionArn: str
    stateMachineArn: str
    name: str
    status: ExecutionStatus
    startDate: datetime
    stopDate: datetime | None = None
    redriveCount: int | None = None
    redriveDate: datetime | None = None


class ExecutionList(BaseModel):
    executions: list[ExecutionSummary]
    nextToken: str | None = Field(None, description="Pass it back for the next page; absent on the last one")


class Execution(ExecutionSummary):
    input: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    redriveStatus: str | None = None
    redriveStatusReason: str | None = None


class HistoryEvent(BaseModel):
    """One event of an execution's history; its details member is named after its type (``taskFailedEventDetails``)."""

    model_config = ConfigDict(extra="allow")
    id: int
    type: str
    timestamp: datetime
    previousEventId: int | None = None


class History(BaseModel):
    events: list[HistoryEvent]
    nextToken: str | None = None


class StartExecutionRequest(BaseModel):
    stateMachineArn: str | None = Field(None, min_length=1, max_length=256)
    stateMachineName: str | None = Field(None, min_length=1, max_length=80, description="Instead of stateMachineArn")
    name: str | None = Field(None, min_length=1, max_length=80, description="The execution's name (a UUID when absent)")
    input: Any = Field(default_factory=dict, description="Any JSON value: the execution's input")
    inputText: str | None = Field(
        None,
        max_length=262_144,
        description="Instead of input: the input as JSON text, passed to StartExecution exactly as given",
    )


class StartedExecution(BaseModel):
    executionArn: str
    startDate: datetime


class StopExecutionRequest(BaseModel):
    error: str | None = Field(None, max_length=256)
    cause: str | None = Field(None, max_length=32768)


class Stopped(BaseModel):
    stopDate: datetime


class Redriven(BaseModel):
    redriveDate: datetime


class StateMachine(BaseModel):
    stateMachineArn: str
    name: str
    type: str
    creationDate: datetime


class StateMachineList(BaseModel):
    stateMachines: list[StateMachine]
    nextToken: str | None = None


# ---------------------------------------------------------------- objects


class UploadRequest(BaseModel):
    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)
    contentType: str | None = Field(None, max_length=255)
    expiresIn: int = Field(900, ge=1, le=604800, description="Seconds the URL is valid (S3's limit is 7 days)")


class PresignedUrl(BaseModel):
    url: str
    method: Literal["GET", "PUT"]
    bucket: str
    key: str
    expiresIn: int
    headers: dict[str, str] = Field(default_factory=dict, description="Headers the request must send (they are signed)")


class Bucket(BaseModel):
    name: str
    creationDate: datetime | None = None


class BucketList(BaseModel):
    buckets: list[Bucket]


class ObjectSummary(BaseModel):
    key: str
    size: int
    lastModified: datetime
    etag: str | None = None


class ObjectList(BaseModel):
    bucket: str
    prefix: str
    objects: list[ObjectSummary]
    commonPrefixes: list[str] = []
    nextToken: str | None = None


class ObjectDetail(BaseModel):
    bucket: str
    key: str
    size: int
    contentType: str | None = None
    lastModified: datetime | None = None
    etag: str | None = None
    download: PresignedUrl


# ---------------------------------------------------------------- queues


class DeadLetterQueue(BaseModel):
    name: str
    arn: str
    url: str | None = None
    messages: int | None = Field(None, description="None when the dead-letter queue does not exist")
    maxReceiveCount: int


class QueueDetail(BaseModel):
    name: str
    url: str
    arn: str
    fifo: bool
    messages: int = Field(description="ApproximateNumberOfMessages")
    inFlight: int = Field(description="ApproximateNumberOfMessagesNotVisible")
    delayed: int = Field(description="ApproximateNumberOfMessagesDelayed")
    deadLetterQueue: DeadLetterQueue | None = None


class QueueList(BaseModel):
    queues: list[QueueDetail]
    nextToken: str | None = None


class QueueRedriveRequest(BaseModel):
    maxNumberOfMessagesPerSecond: int | None = Field(None, ge=1, le=500)


class QueueRedriveTask(BaseModel):
    taskHandle: str
    sourceArn: str
    destinationArn: str | None = Field(None, description="None: each message goes back to the queue it came from")


# ---------------------------------------------------------------- topics, rules, alarms


class Topic(BaseModel):
    topicArn: str
    name: str


class TopicList(BaseModel):
    topics: list[Topic]
    nextToken: str | None = None


class Subscription(BaseModel):
    subscriptionArn: str = Field(description="Or PendingConfirmation, as SNS lists a subscription not confirmed yet")
    protocol: str
    endpoint: str | None = None
    topicArn: str
    filterPolicy: str | None = Field(None, description="The FilterPolicy attribute (JSON text); null when every message is delivered")
    filterPolicyScope: str | None = Field(None, description="MessageAttributes or MessageBody; null without a filter policy")
    rawMessageDelivery: bool | None = Field(None, description="The RawMessageDelivery attribute; null for a subscription not confirmed yet")


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription]
    nextToken: str | None = None


class EventBus(BaseModel):
    name: str
    arn: str


class EventBusList(BaseModel):
    eventBuses: list[EventBus]
    nextToken: str | None = None


class Target(BaseModel):
    id: str
    arn: str
    input: str | None = None
    inputPath: str | None = None
    deadLetterArn: str | None = None


class Rule(BaseModel):
    name: str
    arn: str
    eventBusName: str
    state: str | None = None
    eventPattern: str | None = None
    scheduleExpression: str | None = None
    description: str | None = None
    targets: list[Target]


class RuleList(BaseModel):
    rules: list[Rule]
    nextToken: str | None = None


class Alarm(BaseModel):
    alarmName: str
    alarmArn: str | None = None
    stateValue: str | None = None
    stateReason: str | None = None
    namespace: str | None = None
    metricName: str | None = None
    stateUpdatedTimestamp: datetime | None = None
    alarmType: Literal["MetricAlarm", "CompositeAlarm"] = "MetricAlarm"
    alarmRule: str | None = Field(None, description="A composite alarm's rule over other alarms")


class AlarmList(BaseModel):
    alarms: list[Alarm]
    nextToken: str | None = None


# ---------------------------------------------------------------- users


class User(BaseModel):
    username: str
    status: str | None = Field(None, description="Cognito's UserStatus (CONFIRMED, FORCE_CHANGE_PASSWORD...)")
    enabled: bool | None = None
    created: datetime | None = None
    modified: datetime | None = None
    email: str | None = None
    groups: list[str] | None = Field(None, description="Given for one user, not in lists")


class UserList(BaseModel):
    users: list[User]
    nextToken: str | None = None


class CreateUserRequest(BaseModel):
    username: str = Field(min_length=1, max_length=128, description="Cognito checks it (its pattern is [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+)")
    password: str | None = Field(None, min_length=6, max_length=256, description="Set permanently (the user is CONFIRMED)")
    email: str | None = Field(None, max_length=2048)
    groups: list[RoleName] = Field(default_factory=list)


class Group(BaseModel):
    name: str
    description: str | None = None


class GroupList(BaseModel):
    groups: list[Group]


# ---------------------------------------------------------------- time series (functions, dashboard)


class Series(BaseModel):
    """One value per minute of the window, oldest first, each timestamp the start of its minute."""

    timestamps: list[datetime]
    values: list[float | None] = Field(
        description=(
            "Counts and depths are 0 for a minute that has passed with no data point; a statistic of samples "
            "(a duration) is null for a minute with no sample; the current minute is null until it has a data point"
        )
    )


class Window(BaseModel):
    """The minutes a response covers: ``[start, end)``, one data point per ``period`` seconds."""

    start: datetime
    end: datetime
    minutes: int
    period: int = Field(60, description="Seconds per data point (CloudWatch's Period)")


# ---------------------------------------------------------------- functions


class FunctionMetrics(BaseModel):
    """AWS/Lambda metrics of one function over the window."""

    invocations: float = Field(description="Invocations, Sum")
    errors: float = Field(description="Errors, Sum")
    throttles: float = Field(description="Throttles, Sum")
    durationAverage: float | None = Field(None, description="Duration in ms, Average (null without invocations)")
    durationMaximum: float | None = Field(None, description="Duration in ms, Maximum (null without invocations)")


class FunctionSeries(BaseModel):
    invocations: Series
    errors: Series
    throttles: Series
    durationAverage: Series
    durationMaximum: Series


class FunctionSummary(BaseModel):
    functionName: str
    functionArn: str
    runtime: str | None = None
    handler: str | None = None
    memorySize: int | None = Field(None, description="MB")
    timeout: int | None = Field(None, description="Seconds")
    lastModified: str | None = Field(None, description="As Lambda gives it (ISO 8601, e.g. 2025-01-15T10:00:00.000+0000)")
    metrics: FunctionMetrics


class FunctionList(BaseModel):
    functions: list[FunctionSummary]
    window: Window
    nextToken: str | None = Field(None, description="ListFunctions' NextMarker: pass it back for the next page")


class LogLine(BaseModel):
    timestamp: datetime
    message: str
    logStreamName: str | None = None


class FunctionDetail(FunctionSummary):
    window: Window
    series: FunctionSeries
    logGroupName: str
    logEvents: list[LogLine] = Field(description="The newest lines of the window, newest last")


# ---------------------------------------------------------------- resources (CloudFormation)


class StackOutput(BaseModel):
    outputKey: str
    outputValue: str | None = None
    description: str | None = None
    exportName: str | None = None


class StackResource(BaseModel):
    logicalResourceId: str
    physicalResourceId: str | None = None
    resourceType: str
    resourceStatus: str
    resourceStatusReason: str | None = None
    lastUpdatedTimestamp: datetime | None = None


class AppStack(BaseModel):
    stackName: str
    stackId: str
    stackStatus: str
    stackStatusReason: str | None = None
    description: str | None = None
    creationTime: datetime | None = None
    lastUpdatedTime: datetime | None = None
    outputs: list[StackOutput]
    resources: list[StackResource]


class AppResources(BaseModel):
    stacks: list[AppStack] = Field(
        description="The app's stacks (on AWS, the management API's own stack; locally, every stack not deleted); may be empty"
    )


# ---------------------------------------------------------------- dashboard


class ExecutionSeries(BaseModel):
    """AWS/States metrics (Sum), summed across state machines."""

    started: Series = Field(description="ExecutionsStarted")
    succeeded: Series = Field(description="ExecutionsSucceeded")
    failed: Series = Field(description="ExecutionsFailed")
    timedOut: Series = Field(description="ExecutionsTimedOut")
    aborted: Series = Field(description="ExecutionsAborted")


class DeadLetterSource(BaseModel):
    type: Literal["AWS::SQS::Queue", "AWS::Events::Rule", "AWS::Lambda::Function"] = Field(
        description="A queue (RedrivePolicy), a rule's target or a function (DeadLetterConfig)"
    )
    name: str = Field(description="The queue's or function's name; a rule's as <event bus>/<rule>")


class DeadLetterSources(BaseModel):
    queueName: str
    sources: list[DeadLetterSource] = Field(description="What sends its failures to this queue; empty: it is no dead-letter queue")


class DeadLetterDepth(BaseModel):
    name: str
    arn: str
    url: str | None = None
    messages: int | None = Field(None, description="ApproximateNumberOfMessages now (null when the queue does not exist)")
    sources: list[DeadLetterSource] = Field(description="What sends its failures to it")
    depth: Series = Field(description="AWS/SQS ApproximateNumberOfMessagesVisible, Maximum per minute")


class AlarmState(BaseModel):
    alarmName: str
    stateValue: str
    stateReason: str | None = None
    stateUpdatedTimestamp: datetime | None = None


class AlarmSeries(BaseModel):
    """How many alarms were in a state at some moment of each minute, rebuilt from CloudWatch's alarm history.

    The current minute counts up to now. A minute is null when the history read (a bounded number of
    DescribeAlarmHistory pages, newest first) did not reach back to it.
    """

    alarm: Series = Field(description="Alarms in ALARM at some moment of the minute")
    insufficientData: Series = Field(description="Alarms in INSUFFICIENT_DATA at some moment of the minute")


class Dashboard(BaseModel):
    window: Window
    executions: ExecutionSeries
    deadLetterQueues: list[DeadLetterDepth]
    alarms: list[AlarmState] = Field(description="ALARM first, then INSUFFICIENT_DATA, then OK; by name within a state")
    alarmCounts: dict[str, int] = Field(description="How many alarms are in each state (OK, ALARM, INSUFFICIENT_DATA)")
    alarmSeries: AlarmSeries = Field(description="Alarm states over the window, per minute (DescribeAlarmHistory)")
    eventLag: Series | None = Field(
        None,
        description=(
            "AWS/Events IngestionToInvocationStartLatency in ms (Average, no dimensions): null until CloudWatch holds "
            "the metric (no event has reached a rule's target yet)"
        ),
    )


# ---------------------------------------------------------------- dead-letter message preview


class MessageAttribute(BaseModel):
    dataType: str
    stringValue: str | None = None
    binaryValue: str | None = Field(None, description="Base64")


class QueueMessage(BaseModel):
    messageId: str
    body: str
    bodyTruncated: bool = Field(description="True when the body was longer than 2 KiB (UTF-8) and is cut")
    bodySize: int = Field(description="The whole body's size in bytes (UTF-8)")
    md5OfBody: str | None = None
    sentTimestamp: datetime | None = None
    approximateReceiveCount: int | None = Field(None, description="Counting this preview's receive")
    attributes: dict[str, str] = Field(description="The message's system attributes, as SQS names them")
    messageAttributes: dict[str, MessageAttribute]


class QueueMessages(BaseModel):
    queueName: str
    messages: list[QueueMessage]


# ---------------------------------------------------------------- data-pipeline runs


class PipelineRows(BaseModel):
    read: int
    valid: int
    rejected: int
    source: str = Field(description="Where the counts were found: 'output' (the execution's) or the name of the state that produced them")


class PipelineFile(BaseModel):
    member: str = Field(description="Where the location was found, as a JSON path in the output (output, rejects, result.csv)")
    bucket: str
    key: str
    size: int | None = None
    download: PresignedUrl


class RejectsPreview(BaseModel):
    bucket: str
    key: str
    lines: list[str] = Field(description="The first lines of the rejects file (at most 20, from its first 8 KiB)")
    truncated: bool = Field(description="True when the file holds more than these lines")


class PipelineRun(BaseModel):
    executionArn: str
    status: ExecutionStatus
    rows: PipelineRows | None = None
    files: list[PipelineFile]
    rejects: RejectsPreview | None = None
