"""DynamoDB behaviours that other emulators' AWS-checked suites expect: legacy parameters, CreateTable's words, limits.

The legacy parameters (Expected, ConditionalOperator, AttributeUpdates, KeyConditions,
QueryFilter, ScanFilter, AttributesToGet) are served as DynamoDB serves them, and refused
with its messages when mixed with expressions or malformed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def ddb(aws: Callable[..., Any]) -> Any:
    return aws("dynamodb")


def refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


@pytest.fixture(scope="module")
def table(ddb: Any) -> str:
    ddb.create_table(
        TableName="parity-items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for sk, colour, tags in ((1, "red", ["a", "b"]), (2, "blue", ["b"]), (3, "red", ["c"])):
        ddb.put_item(
            TableName="parity-items",
            Item={"pk": {"S": "p"}, "sk": {"N": str(sk)}, "colour": {"S": colour}, "tags": {"SS": tags}},
        )
    return "parity-items"


# -- Expected / ConditionalOperator --------------------------------------------------------


def test_expected_value_and_exists_guard_writes(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "e"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=table, Item={**key, "v": {"N": "1"}}, Expected={"pk": {"Exists": False}})
    code, _ = refusal(lambda: ddb.put_item(TableName=table, Item={**key, "v": {"N": "2"}}, Expected={"pk": {"Exists": False}}))
    assert code == "ConditionalCheckFailedException"
    ddb.put_item(TableName=table, Item={**key, "v": {"N": "2"}}, Expected={"v": {"Value": {"N": "1"}}})
    code, _ = refusal(lambda: ddb.delete_item(TableName=table, Key=key, Expected={"v": {"Value": {"N": "1"}}}))
    assert code == "ConditionalCheckFailedException"
    ddb.delete_item(TableName=table, Key=key, Expected={"v": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "2"}]}})
    assert "Item" not in ddb.get_item(TableName=table, Key=key)


def test_conditional_operator_or_and_comparison_operators(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    either = {
        "colour": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "green"}]},
        "tags": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "a"}]},
    }
    ddb.update_item(
        TableName=table, Key=key, AttributeUpdates={"seen": {"Value": {"BOOL": True}}}, Expected=either, ConditionalOperator="OR"
    )
    code, _ = refusal(lambda: ddb.update_item(TableName=table, Key=key, AttributeUpdates={"seen": {"Action": "DELETE"}}, Expected=either))
    assert code == "ConditionalCheckFailedException"  # AND by default: colour is not green
    code, _ = refusal(
        lambda: ddb.put_item(
            TableName=table, Item=key, Expected={"colour": {"ComparisonOperator": "NULL"}, "missing": {"ComparisonOperator": "NULL"}}
        )
    )
    assert code == "ConditionalCheckFailedException"


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        ({"a": {"Exists": True}}, "Value must be provided when Exists is true for Attribute: a"),
        ({"a": {}}, "Value must be provided when Exists is null for Attribute: a"),
        ({"a": {"Exists": False, "Value": {"S": "x"}}}, "Value cannot be used when Exists is false for Attribute: a"),
        (
            {"a": {"Exists": True, "ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}},
            "Exists and ComparisonOperator cannot be used together for Attribute: a",
        ),
        ({"a": {"ComparisonOperator": "LT"}}, "Value or AttributeValueList must be used with ComparisonOperator: LT for Attribute: a"),
        ({"a": {"ComparisonOperator": "EQ", "AttributeValueList": []}}, "Invalid number of argument(s) for the EQ ComparisonOperator"),
        (
            {"a": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "1"}]}},
            "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
        ),
        (
            {"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "x"}, {"N": "1"}]}},
            "AttributeValues inside AttributeValueList must be of same type",
        ),
    ],
)
def test_malformed_expected_is_refused(ddb: Any, table: str, expected: dict[str, Any], message: str) -> None:
    item = {"pk": {"S": "m"}, "sk": {"N": "1"}}
    code, text = refusal(lambda: ddb.put_item(TableName=table, Item=item, Expected=expected))
    assert (code, text) == ("ValidationException", f"One or more parameter values were invalid: {message}")


def test_legacy_and_expression_parameters_do_not_mix(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    _, text = refusal(
        lambda: ddb.update_item(
            TableName=table,
            Key=key,
            AttributeUpdates={"a": {"Value": {"S": "x"}}},
            UpdateExpression="SET b = :b",
            ExpressionAttributeValues={":b": {"S": "y"}},
        )
    )
    assert text == (
        "Can not use both expression and non-expression parameters in the same request:"
        " Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"
    )
    _, text = refusal(
        lambda: ddb.scan(TableName=table, ScanFilter={"colour": {"ComparisonOperator": "NOT_NULL"}}, ProjectionExpression="pk")
    )
    assert text.endswith("Non-expression parameters: {ScanFilter} Expression parameters: {ProjectionExpression}")
    _, text = refusal(lambda: ddb.put_item(TableName=table, Item=key, Expected={"a": {"Exists": False}}, ConditionExpression="a = a"))
    assert text.endswith("Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")


# -- AttributeUpdates ----------------------------------------------------------------------


def test_attribute_updates_put_add_delete(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "u"}, "sk": {"N": "1"}}
    ddb.update_item(
        TableName=table,
        Key=key,
        AttributeUpdates={
            "n": {"Action": "ADD", "Value": {"N": "5"}},
            "s": {"Action": "ADD", "Value": {"SS": ["a", "b"]}},
            "l": {"Value": {"L": [{"S": "x"}]}},
            "gone": {"Action": "DELETE"},
        },
    )
    answer = ddb.update_item(
        TableName=table,
        Key=key,
        AttributeUpdates={
            "n": {"Action": "ADD", "Value": {"N": "-2"}},
            "s": {"Action": "DELETE", "Value": {"SS": ["a"]}},
            "l": {"Action": "ADD", "Value": {"L": [{"S": "y"}]}},
        },
        ReturnValues="UPDATED_NEW",
    )
    assert answer["Attributes"] == {"n": {"N": "3"}, "s": {"SS": ["b"]}, "l": {"L": [{"S": "x"}, {"S": "y"}]}}
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={"s": {"Action": "DELETE"}, "l": {"Action": "DELETE"}})
    assert ddb.get_item(TableName=table, Key=key)["Item"] == {**key, "n": {"N": "3"}}


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        (
            {"a": {"Action": "PUT"}},
            "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified",
        ),
        (
            {"a": {"Action": "ADD", "Value": {"S": "x"}}},
            "One or more parameter values were invalid: ADD action is not supported for the type S",
        ),
        (
            {"a": {"Action": "DELETE", "Value": {"N": "1"}}},
            "One or more parameter values were invalid: DELETE action with value is not supported for the type N",
        ),
        (
            {"sk": {"Value": {"N": "9"}}},
            "One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key",
        ),
    ],
)
def test_malformed_attribute_updates_are_refused(ddb: Any, table: str, updates: dict[str, Any], message: str) -> None:
    key = {"pk": {"S": "u2"}, "sk": {"N": "1"}}
    assert refusal(lambda: ddb.update_item(TableName=table, Key=key, AttributeUpdates=updates)) == ("ValidationException", message)


def test_attribute_updates_type_mismatch(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "p"}, "sk": {"N": "2"}}
    refused = refusal(
        lambda: ddb.update_item(TableName=table, Key=key, AttributeUpdates={"colour": {"Action": "ADD", "Value": {"N": "1"}}})
    )
    assert refused == ("ValidationException", "Type mismatch for attribute to update")


# -- KeyConditions / QueryFilter / ScanFilter / AttributesToGet --------------------------------


def test_key_conditions_and_query_filter(ddb: Any, table: str) -> None:
    answer = ddb.query(
        TableName=table,
        KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]},
        },
        QueryFilter={"colour": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "red"}]}},
        AttributesToGet=["sk"],
    )
    assert answer["Items"] == [{"sk": {"N": "1"}}, {"sk": {"N": "3"}}]
    assert answer["ScannedCount"] == 3
    # KeyConditions may go with a FilterExpression.
    answer = ddb.query(
        TableName=table,
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
        FilterExpression="colour = :c",
        ExpressionAttributeValues={":c": {"S": "blue"}},
    )
    assert [i["sk"] for i in answer["Items"]] == [{"N": "2"}]


def test_key_conditions_refusals(ddb: Any, table: str) -> None:
    code, text = refusal(
        lambda: ddb.query(TableName=table, KeyConditions={"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "p"}]}})
    )
    assert (code, text) == ("ValidationException", "Attempted conditional constraint is not an indexable operation")
    _, text = refusal(
        lambda: ddb.query(TableName=table, KeyConditions={"pk": {"ComparisonOperator": "GT", "AttributeValueList": [{"S": "p"}]}})
    )
    assert text == "Query key condition not supported"
    _, text = refusal(lambda: ddb.query(TableName=table))
    assert text == "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."


def test_scan_filter_with_or(ddb: Any, table: str) -> None:
    answer = ddb.scan(
        TableName=table,
        ScanFilter={
            "colour": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "blue"}]},
            "tags": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "b"}]},
        },
        ConditionalOperator="OR",
    )
    assert sorted(i["sk"]["N"] for i in answer["Items"] if i["pk"] == {"S": "p"}) == ["2", "3"]
    # A map value compares with EQ (it matches nothing here) rather than being refused.
    answer = ddb.scan(TableName=table, ScanFilter={"colour": {"ComparisonOperator": "EQ", "AttributeValueList": [{"M": {}}]}})
    assert answer["Items"] == []


# -- CreateTable ---------------------------------------------------------------------------


def _create(ddb: Any, **request: Any) -> tuple[str, str]:
    request.setdefault("BillingMode", "PAY_PER_REQUEST")
    return refusal(lambda: ddb.create_table(TableName="parity-refused", **request))


def test_create_table_key_type_enum(ddb: Any) -> None:
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
    _, text = _create(
        ddb,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "SORT"}],
        AttributeDefinitions=definitions,
    )
    assert text == (
        "1 validation error detected: Value 'SORT' at 'keySchema.2.member.keyType' failed to satisfy constraint:"
        " Member must satisfy enum value set: [HASH, RANGE]"
    )
    _, text = _create(
        ddb,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=definitions[:1],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-x",
                "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}, {"AttributeName": "y", "KeyType": "SORT"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    assert "'globalSecondaryIndexes.1.member.keySchema.2.member.keyType'" in text


def test_create_table_too_many_keys(ddb: Any) -> None:
    keys = [{"AttributeName": n, "KeyType": t} for n, t in (("a", "HASH"), ("b", "RANGE"), ("c", "RANGE"))]
    _, text = _create(ddb, KeySchema=keys, AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}])
    assert text == (
        "1 validation error detected: Value '[KeySchemaElement(attributeName=a, keyType=HASH),"
        " KeySchemaElement(attributeName=b, keyType=RANGE), KeySchemaElement(attributeName=c, keyType=RANGE)]'"
        " at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2"
    )


def test_create_table_attribute_definitions(ddb: Any) -> None:
    def definitions(*names: str) -> list[dict[str, str]]:
        return [{"AttributeName": n, "AttributeType": "S"} for n in names]

    hash_only = [{"AttributeName": "id", "KeyType": "HASH"}]
    gsi = [{"IndexName": "by-user", "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]
    invalid = "One or more parameter values were invalid: "
    assert _create(ddb, KeySchema=hash_only, AttributeDefinitions=definitions("id", "at"))[1] == (
        f"{invalid}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
    )
    assert _create(ddb, KeySchema=hash_only, AttributeDefinitions=definitions("id", "user", "at"), GlobalSecondaryIndexes=gsi)[1] == (
        f"{invalid}Some AttributeDefinitions are not used. AttributeDefinitions: [at, id, user], keys used: [id, user]"
    )
    two_keys = [*hash_only, {"AttributeName": "at", "KeyType": "RANGE"}]
    assert _create(ddb, KeySchema=two_keys, AttributeDefinitions=definitions("id"))[1] == (
        "Invalid KeySchema: Some index key attribute have no definition"
    )
    assert _create(ddb, KeySchema=hash_only, AttributeDefinitions=definitions("at"))[1] == (
        f"{invalid}Some index key attributes are not defined in AttributeDefinitions. Keys: [id], AttributeDefinitions: [at]"
    )
    assert _create(ddb, KeySchema=hash_only, AttributeDefinitions=definitions("id", "at"), GlobalSecondaryIndexes=gsi)[1] == (
        f"{invalid}Some index key attributes are not defined in AttributeDefinitions. Keys: [user], AttributeDefinitions: [at, id]"
    )


def test_warm_throughput_and_sse(ddb: Any) -> None:
    ddb.create_table(
        TableName="parity-warm",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        WarmThroughput={"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000},
        SSESpecification={"Enabled": True},
    )
    table = ddb.describe_table(TableName="parity-warm")["Table"]
    assert table["WarmThroughput"] == {"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000, "Status": "ACTIVE"}
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["SSEDescription"]["KMSMasterKeyArn"].startswith("arn:aws:kms:us-east-1:")
    _, text = _create(
        ddb,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        WarmThroughput={"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 3000},
    )
    assert text == (
        "One or more parameter values were invalid: Requested WriteUnitsPerSecond for WarmThroughput for table is lower"
        " than initial throughput for OnDemand"
    )


def test_update_table_updates_index_throughput(ddb: Any) -> None:
    ddb.create_table(
        TableName="parity-gsi",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            }
        ],
    )
    ddb.update_table(
        TableName="parity-gsi",
        GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "by-g", "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3}}}
        ],
    )
    index = ddb.describe_table(TableName="parity-gsi")["Table"]["GlobalSecondaryIndexes"][0]
    assert (index["ProvisionedThroughput"]["ReadCapacityUnits"], index["ProvisionedThroughput"]["WriteCapacityUnits"]) == (7, 3)


# -- expressions, keys, limits ---------------------------------------------------------------


def test_redundant_parentheses_are_refused(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    values = {":c": {"S": "red"}}
    text = refusal(
        lambda: ddb.delete_item(TableName=table, Key=key, ConditionExpression="((colour = :c))", ExpressionAttributeValues=values)
    )
    assert text == ("ValidationException", "Invalid ConditionExpression: The expression has redundant parentheses;")
    # Parentheses around a group of several conditions are not redundant.
    ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET seen = :c",
        ConditionExpression="((colour = :c) AND (attribute_exists(pk))) OR (colour <> :c)",
        ExpressionAttributeValues=values,
    )


def test_key_condition_refusals(ddb: Any, table: str) -> None:
    _, text = refusal(lambda: ddb.query(TableName=table, KeyConditionExpression="#p = pk", ExpressionAttributeNames={"#p": "pk"}))
    assert text == "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
    _, text = refusal(lambda: ddb.query(TableName=table, KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": {"S": ""}}))
    assert text == (
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
    )


def test_index_sort_key_limit_applies_to_table_partition_key(ddb: Any) -> None:
    ddb.create_table(
        TableName="parity-keys",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "flipped",
                "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    refused = refusal(lambda: ddb.put_item(TableName="parity-keys", Item={"pk": {"S": "y" * 1025}, "sk": {"S": "s"}}))
    assert refused == (
        "ValidationException",
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
    )


def test_select_all_attributes_on_partial_gsi_is_bare_for_query(ddb: Any) -> None:
    ddb.create_table(
        TableName="parity-select",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {"IndexName": "keys", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ],
    )
    _, text = refusal(
        lambda: ddb.query(
            TableName="parity-select",
            IndexName="keys",
            Select="ALL_ATTRIBUTES",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        )
    )
    assert text == (
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index"
        " keys because its projection type is not ALL"
    )


def test_transaction_of_more_than_100_actions(ddb: Any, table: str) -> None:
    actions = [{"Put": {"TableName": table, "Item": {"pk": {"S": "t"}, "sk": {"N": str(i)}}}} for i in range(101)]
    assert refusal(lambda: ddb.transact_write_items(TransactItems=actions)) == (
        "ValidationException",
        "1 validation error detected at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100.",
    )


def test_item_collection_metrics_for_tables_with_local_indexes(ddb: Any, table: str) -> None:
    ddb.create_table(
        TableName="parity-lsi",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-at",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    item = {"pk": {"S": "c"}, "sk": {"S": "1"}, "at": {"S": "x"}}
    answer = ddb.put_item(TableName="parity-lsi", Item=item, ReturnItemCollectionMetrics="SIZE")
    assert answer["ItemCollectionMetrics"] == {"ItemCollectionKey": {"pk": {"S": "c"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    assert "ItemCollectionMetrics" not in ddb.put_item(TableName="parity-lsi", Item=item)
    # A table without local indexes has no item collections.
    no_lsi = ddb.put_item(TableName=table, Item={"pk": {"S": "c"}, "sk": {"N": "1"}}, ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in no_lsi


# -- account and table settings ------------------------------------------------------------


def test_point_in_time_recovery_setting(ddb: Any, table: str) -> None:
    described = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert described == {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    enabled = ddb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 10}
    )["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert enabled["PointInTimeRecoveryStatus"] == "ENABLED"
    assert enabled["RecoveryPeriodInDays"] == 10
    assert enabled["EarliestRestorableDateTime"] <= enabled["LatestRestorableDateTime"]
    again = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert again["EarliestRestorableDateTime"] == enabled["EarliestRestorableDateTime"]
    disabled = ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    assert disabled["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"] == {"PointInTimeRecoveryStatus": "DISABLED"}
    assert refusal(lambda: ddb.describe_continuous_backups(TableName="parity-missing")) == (
        "TableNotFoundException",
        "Table not found: parity-missing",
    )


def test_limits_and_endpoints(ddb: Any) -> None:
    limits = ddb.describe_limits()
    assert (limits["AccountMaxReadCapacityUnits"], limits["TableMaxWriteCapacityUnits"]) == (80000, 40000)
    endpoints = ddb.describe_endpoints()["Endpoints"]
    assert endpoints == [{"Address": ddb.meta.endpoint_url.split("://", 1)[1], "CachePeriodInMinutes": 1440}]
