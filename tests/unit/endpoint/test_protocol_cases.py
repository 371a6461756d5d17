"""The protocol layer's hard cases: routing ties, wire names, AWS's errors, real boto3 clients."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config
from test_protocol_wire import WHEN, botocore_error, botocore_reads, wire_request

from sluiceway.endpoint import protocol
from sluiceway.endpoint.context import HttpRequest, Stream
from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.protocol import models


def s3_op(name: str) -> Any:
    return protocol.service_model("s3").operation_model(name)


def request(method: str, path: str, query: str = "", headers: dict[str, str] | None = None, body: bytes = b"") -> HttpRequest:
    return HttpRequest(method, path, query, headers or {}, body)


# -- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("PUT", "/b/k", "", {}, "PutObject"),
        ("PUT", "/b/k", "", {"x-amz-copy-source": "/a/k"}, "CopyObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {"x-amz-copy-source": "/a/k"}, "UploadPartCopy"),
        ("GET", "/b", "", {}, "ListObjects"),
        ("GET", "/b", "list-type=2&prefix=a", {}, "ListObjectsV2"),
        ("GET", "/b/", "list-type=2", {}, "ListObjectsV2"),
        ("GET", "/b", "uploads", {}, "ListMultipartUploads"),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload"),
        ("GET", "/b/k", "uploadId=u", {}, "ListParts"),
        ("GET", "/b/k", "", {}, "GetObject"),
        ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"),
        ("DELETE", "/b/k", "", {}, "DeleteObject"),
        ("DELETE", "/b", "", {}, "DeleteBucket"),
        ("PUT", "/b", "", {}, "CreateBucket"),
        ("GET", "/b", "notification", {}, "GetBucketNotificationConfiguration"),
        ("HEAD", "/b", "", {}, "HeadBucket"),
        ("HEAD", "/b/a/b/c", "", {}, "HeadObject"),
        ("GET", "/", "", {}, "ListBuckets"),
    ],
)
def test_s3_requests_find_the_most_specific_operation(method: str, path: str, query: str, headers: dict[str, str], expected: str) -> None:
    operation, _ = protocol.parse("s3", request(method, path, query, headers))
    assert operation.name == expected


def test_s3_keys_keep_their_slashes_and_are_percent_decoded() -> None:
    params = {"Bucket": "bkt", "Key": "dir/sub dir/ü+%.txt", "Body": b"x", "Metadata": {"owner": "me"}, "Expires": WHEN}
    operation, parsed = protocol.parse("s3", wire_request(s3_op("PutObject"), params))
    assert operation.name == "PutObject"
    assert parsed == {**params, "ContentLength": 1}  # the Content-Length header is a member too


def test_s3_copy_source_header_makes_a_copy() -> None:
    params = {"Bucket": "b", "Key": "k", "CopySource": "src/key", "MetadataDirective": "REPLACE"}
    operation, parsed = protocol.parse("s3", wire_request(s3_op("CopyObject"), params))
    assert (operation.name, parsed) == ("CopyObject", params)


def test_s3_xml_payloads_parse_with_flattened_lists() -> None:
    params = {
        "Bucket": "b",
        "NotificationConfiguration": {
            "QueueConfigurations": [
                {
                    "QueueArn": "arn:aws:sqs:us-east-1:000000000000:q",
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".csv"}]}},
                }
            ],
            "EventBridgeConfiguration": {},
        },
    }
    request_ = wire_request(s3_op("PutBucketNotificationConfiguration"), params)
    assert b"<QueueConfiguration>" in request_.body and b"<Event>s3:ObjectCreated:*</Event>" in request_.body
    assert protocol.parse("s3", request_)[1] == params


def test_s3_unknown_route_is_method_not_allowed() -> None:
    with pytest.raises(AwsError) as caught:
        protocol.parse("s3", request("PATCH", "/b/k"))
    assert (caught.value.code, caught.value.status) == ("MethodNotAllowed", 405)


def test_s3_malformed_xml_is_malformed_xml() -> None:
    for body in (b"<Delete><Object>", b'<!DOCTYPE x [<!ENTITY a "b">]><Delete/>'):
        with pytest.raises(AwsError) as caught:
            protocol.parse("s3", request("POST", "/b", "delete", {}, body))
        assert (caught.value.code, caught.value.status) == ("MalformedXML", 400)


# -- SQS in both protocols -------------------------------------------------------------------------


def test_sqs_query_requests_use_the_legacy_wire_names() -> None:
    form = (
        "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fq&MessageBody=hi"
        "&MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=red"
        "&MessageAttribute.2.Name=blob&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAE%3D"
    )
    http = request("POST", "/", "", {"content-type": "application/x-www-form-urlencoded"}, form.encode())
    assert protocol.protocol_of("sqs", http) == "query"
    operation, params = protocol.parse("sqs", http)
    assert operation.name == "SendMessage"
    assert params["MessageAttributes"] == {
        "color": {"DataType": "String", "StringValue": "red"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    receive = request("POST", "/", "", {}, b"Action=ReceiveMessage&QueueUrl=q&AttributeName.1=All&MaxNumberOfMessages=5")
    assert protocol.parse("sqs", receive)[1] == {"QueueUrl": "q", "AttributeNames": ["All"], "MaxNumberOfMessages": 5}


def test_sqs_query_answers_are_the_legacy_xml() -> None:
    operation = protocol.service_model("sqs").operation_model("ListQueues")
    response = protocol.serialize(operation, {"QueueUrls": ["u1", "u2"]}, "rid", protocol="query")
    assert isinstance(response.body, bytes)
    assert b"<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ListQueuesResult>" in response.body
    assert response.headers["x-amzn-RequestId"] == "rid"


def test_list_fields_of_an_error_are_member_elements_in_the_query_protocol() -> None:
    messages = [{"DataPath": "/widgets/0", "Message": "Should have required property 'type'"}]
    error = AwsError("InvalidParameterInput", "The dashboard body is invalid", 400, fields={"dashboardValidationMessages": messages})
    as_query = protocol.serialize_error("cloudwatch", error, "r1", protocol="query")
    assert isinstance(as_query.body, bytes)
    assert (
        b"<dashboardValidationMessages><member><DataPath>/widgets/0</DataPath>"
        b"<Message>Should have required property 'type'</Message></member></dashboardValidationMessages>"
    ) in as_query.body
    parsed = botocore_error("cloudwatch", as_query, "query")
    assert parsed["Error"]["Code"] == "InvalidParameterInput"
    as_json = protocol.serialize_error("cloudwatch", error, "r1")
    assert json.loads(as_json.body)["dashboardValidationMessages"] == messages  # type: ignore[arg-type]


@pytest.mark.parametrize("raised", ["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"])
def test_sqs_errors_carry_both_codes(raised: str) -> None:
    error = AwsError(raised, "The specified queue does not exist.", 400)
    as_json = protocol.serialize_error("sqs", error, "r1")
    assert json.loads(as_json.body)["__type"] == "QueueDoesNotExist"  # type: ignore[arg-type]
    assert as_json.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert botocore_error("sqs", as_json)["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    as_query = protocol.serialize_error("sqs", error, "r1", protocol="query")
    assert botocore_error("sqs", as_query, "query")["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_sns_message_attributes_use_entry_name_and_value() -> None:
    operation = protocol.service_model("sns").operation_model("Publish")
    params = {"TopicArn": "arn", "Message": "m", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}
    wire = wire_request(operation, params)
    form = dict(parse_qsl(wire.body.decode()))
    assert form["MessageAttributes.entry.1.Name"] == "k"
    assert form["MessageAttributes.entry.1.Value.DataType"] == "String"
    assert protocol.parse("sns", wire)[1] == params


# -- AWS's errors for bad requests ----------------------------------------------------------------------


def test_unknown_operations_answer_as_aws_does() -> None:
    with pytest.raises(AwsError) as caught:
        protocol.parse("dynamodb", request("POST", "/", "", {"x-amz-target": "DynamoDB_20120810.Nope"}, b"{}"))
    assert caught.value.code == "UnknownOperationException"
    with pytest.raises(AwsError) as caught:
        protocol.parse("sns", request("POST", "/", "", {}, b"Action=Nope"))
    assert (caught.value.code, caught.value.message) == ("InvalidAction", "The action Nope is not valid for this web service.")


def test_malformed_json_is_a_serialization_exception() -> None:
    for body in (b"{not json", b"[1]", b'{"TableName": 5}'):
        with pytest.raises(AwsError) as caught:
            protocol.parse("dynamodb", request("POST", "/", "", {"x-amz-target": "DynamoDB_20120810.DescribeTable"}, body))
        assert (caught.value.code, caught.value.status) == ("SerializationException", 400)


def test_missing_members_are_reported_as_aws_does() -> None:
    with pytest.raises(AwsError) as caught:
        protocol.parse("sqs", request("POST", "/", "", {"x-amz-target": "AmazonSQS.SendMessage"}, b"{}"))
    assert caught.value.code == "ValidationException"
    assert caught.value.message == (
        "2 validation errors detected: Value null at 'queueUrl' failed to satisfy constraint: Member must not be null; "
        "Value null at 'messageBody' failed to satisfy constraint: Member must not be null"
    )
    with pytest.raises(AwsError) as caught:
        protocol.parse("sns", request("POST", "/", "", {}, b"Action=Subscribe&Protocol=sqs"))
    assert (caught.value.code, caught.value.message) == ("MissingParameter", "The request must contain the parameter TopicArn.")


def test_s3_errors_and_head_errors() -> None:
    error = AwsError("NoSuchKey", "The specified key does not exist.", 404, fields={"Key": "a/b"})
    response = protocol.serialize_error("s3", error, "r2")
    parsed = botocore_error("s3", response)
    assert parsed["Error"] == {"Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "a/b"}
    assert parsed["ResponseMetadata"]["RequestId"] == "r2"
    head = protocol.serialize_error("s3", error, "r2", method="HEAD")
    assert (head.status, head.body, head.headers["x-amz-request-id"]) == (404, b"", "r2")


def test_get_bucket_location_is_a_bare_element() -> None:
    response = protocol.serialize(s3_op("GetBucketLocation"), {"LocationConstraint": "eu-west-1"}, "r")
    assert isinstance(response.body, bytes)
    assert response.body.endswith(b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>')


def test_streamed_bodies_pass_through_with_their_headers() -> None:
    stream = Stream(iter([b"ab", b"c"]), 3)
    output = {"Body": stream, "ContentLength": 3, "ETag": '"e"', "LastModified": WHEN, "Metadata": {"a": "1"}}
    response = protocol.serialize(s3_op("GetObject"), output, "r")
    assert response.body is stream
    assert response.headers["Last-Modified"] == "Wed, 01 May 2024 12:30:15 GMT"
    assert response.headers["x-amz-meta-a"] == "1"
    assert botocore_reads(s3_op("GetObject"), response)["ETag"] == '"e"'


def test_target_prefixes_cover_the_json_services() -> None:
    assert protocol.target_prefixes() == {
        "AmazonSQS": "sqs",
        "DynamoDB_20120810": "dynamodb",
        "AWSEvents": "events",
        "AWSCognitoIdentityProviderService": "cognito-idp",
        "GraniteServiceVersion20100801": "cloudwatch",
        "AWSStepFunctions": "stepfunctions",
        "Logs_20140328": "logs",
        "DynamoDBStreams_20120810": "dynamodbstreams",
        "AmazonSSM": "ssm",
        "secretsmanager": "secretsmanager",
        "Kinesis_20131202": "kinesis",
    }
    assert protocol.service_model("s3") is protocol.service_model("s3")
    assert models.query_variant("sqs") is models.query_variant("sqs")


# -- real boto3 clients, answered in process ----------------------------------------------------------


def fake_client(service: str, handler: Any, **config: Any) -> Any:
    """A boto3 client whose requests go through parse -> handler -> serialize, without a socket."""
    client = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config),
    )

    def send(request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else body.read()
        http = HttpRequest(
            request.method,
            url.path or "/",
            url.query,
            {k.lower(): str(v, "utf-8") if isinstance(v, bytes) else v for k, v in request.headers.items()},
            body,
        )
        try:
            operation, params = protocol.parse(service, http)
            response = protocol.serialize(operation, handler(operation.name, params), "rid-1", protocol=protocol.protocol_of(service, http))
        except AwsError as error:
            response = protocol.serialize_error(service, error, "rid-1", protocol=protocol.protocol_of(service, http), method=http.method)
        raw = response.body if isinstance(response.body, bytes) else b"".join(response.body.chunks)
        return AWSResponse(request.url, response.status, HeadersDict(response.headers), _Raw(raw))

    client.meta.events.register("before-send", send)
    return client


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self._done = False

    def stream(self, *_: Any, **__: Any) -> Any:
        if not self._done:
            self._done = True
            yield self.data

    def read(self, *_: Any, **__: Any) -> bytes:
        data, self.data = self.data, b""
        return data


def test_boto3_s3_put_get_head_and_a_modelled_404() -> None:
    stored: dict[str, Any] = {}

    def handler(name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == "PutObject":
            stored[params["Key"]] = params
            return {"ETag": '"etag"'}
        if name == "GetObject" and params["Key"] in stored:
            found = stored[params["Key"]]
            return {"Body": found["Body"], "ContentLength": len(found["Body"]), "Metadata": found.get("Metadata", {}), "ETag": '"etag"'}
        raise AwsError("NoSuchKey", "The specified key does not exist.", 404, fields={"Key": params["Key"]})

    s3 = fake_client("s3", handler, s3={"addressing_style": "path"})
    assert s3.put_object(Bucket="b", Key="a b/c", Body=b"data", Metadata={"Owner": "me"})["ETag"] == '"etag"'
    got = s3.get_object(Bucket="b", Key="a b/c")
    assert (got["Body"].read(), got["Metadata"]) == (b"data", {"owner": "me"})
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.head_object(Bucket="b", Key="missing")
    assert caught.value.response["Error"]["Code"] == "404"  # HEAD has no body: botocore reads the status
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="b", Key="missing")


def test_boto3_sqs_json_errors_map_to_modelled_exceptions() -> None:
    def handler(name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == "SendMessage":
            return {"MessageId": "m1"}
        raise AwsError("QueueDoesNotExist", "The specified queue does not exist.", 400)

    sqs = fake_client("sqs", handler)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="nope")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_boto3_dynamodb_round_trips_binary_and_numbers() -> None:
    items: dict[str, Any] = {}

    def handler(name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == "PutItem":
            items[params["Item"]["pk"]["S"]] = params["Item"]
            return {}
        return {"Item": items[params["Key"]["pk"]["S"]]}

    ddb = fake_client("dynamodb", handler)
    item = {"pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}}}
    ddb.put_item(TableName="t", Item=item)
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == item
