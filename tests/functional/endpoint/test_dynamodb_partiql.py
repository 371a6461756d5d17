"""DynamoDB's PartiQL operations through the endpoint, driven by boto3: the native engine underneath."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def dynamodb(aws: Callable[..., Any]) -> Any:
    return aws("dynamodb")


@pytest.fixture(scope="module")
def streams(aws: Callable[..., Any]) -> Any:
    return aws("dynamodbstreams")


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    error: dict[str, Any] = caught.value.response["Error"]
    return error


def make_table(dynamodb: Any, name: str, *, sort: bool = True, **extra: Any) -> None:
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort:
        key.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": "N"})
    dynamodb.create_table(
        TableName=name,
        KeySchema=key,
        AttributeDefinitions=definitions + extra.pop("definitions", []),
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def run(dynamodb: Any, statement: str, *parameters: dict[str, Any], **extra: Any) -> Any:
    if parameters:
        extra["Parameters"] = list(parameters)
    return dynamodb.execute_statement(Statement=statement, **extra)


def test_insert_select_update_delete(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-crud")
    assert run(dynamodb, "INSERT INTO \"pq-crud\" VALUE {'pk': 'a', 'sk': 1, 'tags': <<'x'>>, 'doc': {'n': [1, 2]}}")["Items"] == []
    run(dynamodb, "INSERT INTO \"pq-crud\" VALUE {'pk': ?, 'sk': ?, 'count': ?}", {"S": "a"}, {"N": "2"}, {"N": "5"})
    items = run(dynamodb, 'SELECT * FROM "pq-crud" WHERE pk = ?', {"S": "a"})["Items"]
    assert [i["sk"] for i in items] == [{"N": "1"}, {"N": "2"}]
    assert items[0]["tags"] == {"SS": ["x"]}
    assert items[0]["doc"] == {"M": {"n": {"L": [{"N": "1"}, {"N": "2"}]}}}

    # UPDATE sets, adds and removes; RETURNING answers the item as asked.
    updated = run(dynamodb, 'UPDATE "pq-crud" SET "count" = "count" + 1 SET note = \'hi\' WHERE pk = \'a\' AND sk = 2 RETURNING ALL NEW *')
    assert updated["Items"] == [{"pk": {"S": "a"}, "sk": {"N": "2"}, "count": {"N": "6"}, "note": {"S": "hi"}}]
    modified = run(
        dynamodb, "UPDATE \"pq-crud\" REMOVE note SET tags = set_add(tags, <<'y'>>) WHERE pk='a' AND sk=1 RETURNING MODIFIED OLD *"
    )
    assert modified["Items"] == [{"tags": {"SS": ["x"]}}]
    got = dynamodb.get_item(TableName="pq-crud", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert sorted(got["tags"]["SS"]) == ["x", "y"]

    deleted = run(dynamodb, "DELETE FROM \"pq-crud\" WHERE pk = 'a' AND sk = 1 RETURNING ALL OLD *")
    assert deleted["Items"][0]["pk"] == {"S": "a"}
    assert "Item" not in dynamodb.get_item(TableName="pq-crud", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    # Deleting what is not there is no failure, whatever else the WHERE asks.
    assert run(dynamodb, "DELETE FROM \"pq-crud\" WHERE pk = 'a' AND sk = 1 AND note = 'x'")["Items"] == []


def test_insert_over_an_item_is_a_duplicate(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-dup", sort=False)
    run(dynamodb, "INSERT INTO \"pq-dup\" VALUE {'pk': 'a', 'v': 1}")
    error = error_of(lambda: run(dynamodb, "INSERT INTO \"pq-dup\" VALUE {'pk': 'a', 'v': 2}"))
    assert error == {"Code": "DuplicateItemException", "Message": "Duplicate primary key exists in table"}
    assert dynamodb.get_item(TableName="pq-dup", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "1"}


def test_update_never_creates_and_checks_its_conditions(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-upd", sort=False)
    missing = error_of(lambda: run(dynamodb, "UPDATE \"pq-upd\" SET v = 1 WHERE pk = 'nobody'"))
    assert missing == {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}
    assert "Item" not in dynamodb.get_item(TableName="pq-upd", Key={"pk": {"S": "nobody"}})
    run(dynamodb, "INSERT INTO \"pq-upd\" VALUE {'pk': 'a', 'v': 1}")
    failed = error_of(lambda: run(dynamodb, "UPDATE \"pq-upd\" SET v = 2 WHERE pk = 'a' AND v > 5"))
    assert failed["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as caught:
        run(dynamodb, "UPDATE \"pq-upd\" SET v = 2 WHERE pk = 'a' AND v > 5", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert caught.value.response["Item"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    run(dynamodb, "UPDATE \"pq-upd\" SET v = 2 WHERE pk = 'a' AND (v = 1 OR v IS MISSING)")
    assert dynamodb.get_item(TableName="pq-upd", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "2"}


def test_writes_need_the_whole_key(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-key")
    for statement in (
        "UPDATE \"pq-key\" SET v = 1 WHERE pk = 'a'",
        "DELETE FROM \"pq-key\" WHERE pk = 'a'",
        "DELETE FROM \"pq-key\" WHERE pk = 'a' OR sk = 1",
    ):
        error = error_of(lambda statement=statement: run(dynamodb, statement))
        assert error == {
            "Code": "ValidationException",
            "Message": "Where clause does not contain a mandatory equality on all key attributes",
        }


def test_select_query_scan_filters_and_projection(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-read")
    for n in range(1, 6):
        item = {"pk": {"S": "p"}, "sk": {"N": str(n)}, "name": {"S": f"n{n}"}, "doc": {"M": {"deep": {"L": [{"N": str(n * 10)}]}}}}
        dynamodb.put_item(TableName="pq-read", Item=item)
    dynamodb.put_item(TableName="pq-read", Item={"pk": {"S": "q"}, "sk": {"N": "1"}, "other": {"BOOL": True}})

    def sks(statement: str, *parameters: dict[str, Any]) -> list[str]:
        return [i["sk"]["N"] for i in run(dynamodb, statement, *parameters)["Items"]]

    assert sks('SELECT * FROM "pq-read" WHERE pk = ? AND sk BETWEEN 2 AND 4', {"S": "p"}) == ["2", "3", "4"]
    assert sks("SELECT * FROM \"pq-read\" WHERE pk = 'p' AND sk > 1 AND sk < 4") == ["2", "3"]
    assert sks("SELECT * FROM \"pq-read\" WHERE pk = 'p' AND sk IN [1, 5]") == ["1", "5"]
    assert sks("SELECT * FROM \"pq-read\" WHERE pk = 'p' ORDER BY sk DESC") == ["5", "4", "3", "2", "1"]
    assert sks("SELECT * FROM \"pq-read\" WHERE begins_with(name, 'n') AND NOT contains(name, '3')") == ["1", "2", "4", "5"]
    assert sks('SELECT * FROM "pq-read" WHERE other IS NOT MISSING') == ["1"]
    assert sks("SELECT * FROM \"pq-read\" WHERE pk = 'p' AND doc.deep[0] >= 40") == ["4", "5"]
    assert sks("SELECT * FROM \"pq-read\" WHERE size(name) = 2 AND pk <> 'q' AND sk <= 2") == ["1", "2"]
    projected = run(dynamodb, "SELECT name, doc.deep[0] FROM \"pq-read\" WHERE pk = 'p' AND sk = 2")["Items"]
    assert projected == [{"name": {"S": "n2"}, "deep": {"N": "20"}}]
    assert run(dynamodb, "SELECT other FROM \"pq-read\" WHERE pk = 'p' AND sk = 1")["Items"] == [{}]


def test_select_pages_with_limit_and_next_token(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-page")
    for n in range(7):
        dynamodb.put_item(TableName="pq-page", Item={"pk": {"S": "p"}, "sk": {"N": str(n)}})
    seen: list[str] = []
    page = run(dynamodb, "SELECT * FROM \"pq-page\" WHERE pk = 'p'", Limit=3, ReturnConsumedCapacity="TOTAL")
    assert page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "2"}}
    assert page["ConsumedCapacity"]["TableName"] == "pq-page"
    pages = 1
    seen += [i["sk"]["N"] for i in page["Items"]]
    while "NextToken" in page:
        page = run(dynamodb, "SELECT * FROM \"pq-page\" WHERE pk = 'p'", Limit=3, NextToken=page["NextToken"])
        seen += [i["sk"]["N"] for i in page["Items"]]
        pages += 1
    assert seen == [str(n) for n in range(7)]
    assert pages == 3
    # A token belongs to its statement.
    token = run(dynamodb, "SELECT * FROM \"pq-page\" WHERE pk = 'p'", Limit=1)["NextToken"]
    assert error_of(lambda: run(dynamodb, 'SELECT * FROM "pq-page"', NextToken=token))["Code"] == "ValidationException"


def test_select_on_an_index(dynamodb: Any) -> None:
    make_table(
        dynamodb,
        "pq-gsi",
        sort=False,
        definitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        ],
    )
    dynamodb.put_item(TableName="pq-gsi", Item={"pk": {"S": "1"}, "g": {"S": "x"}})
    dynamodb.put_item(TableName="pq-gsi", Item={"pk": {"S": "2"}})
    assert len(run(dynamodb, 'SELECT * FROM "pq-gsi"."by-g"')["Items"]) == 1
    assert run(dynamodb, 'SELECT pk FROM "pq-gsi"."by-g" WHERE g = \'x\'')["Items"] == [{"pk": {"S": "1"}}]
    assert error_of(lambda: run(dynamodb, 'SELECT * FROM "pq-gsi"."nope"')) == {
        "Code": "ValidationException",
        "Message": "The table does not have the specified index",
    }
    assert error_of(lambda: run(dynamodb, 'SELECT * FROM "pq-missing"."by-g"')) == {
        "Code": "ResourceNotFoundException",
        "Message": "Requested resource not found",
    }


def test_statement_errors(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-err", sort=False)
    assert error_of(lambda: run(dynamodb, "SLECT * FROM t")) == {
        "Code": "ValidationException",
        "Message": "Statement wasn't well formed, can't be processed: Expected data manipulation",
    }
    assert error_of(lambda: run(dynamodb, 'SELECT * FROM "pq-err" WHERE pk = ?'))["Message"] == (
        "Number of parameters in request and statement don't match."
    )
    assert error_of(lambda: run(dynamodb, "SELECT * FROM \"pq-err\" WHERE pk = 'a' AND")) == {
        "Code": "ValidationException",
        "Message": "Statement wasn't well formed, can't be processed: Unexpected end of statement",
    }
    assert error_of(lambda: run(dynamodb, "DELETE FROM \"pq-err\" WHERE pk = 'a' RETURNING ALL NEW *"))["Message"] == (
        "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."
    )


def test_an_empty_parameter_list_is_refused(aws: Callable[..., Any], dynamodb: Any) -> None:
    make_table(dynamodb, "pq-empty", sort=False)
    unchecked = aws("dynamodb", parameter_validation=False)
    assert error_of(lambda: unchecked.execute_statement(Statement='SELECT * FROM "pq-empty"', Parameters=[])) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '[]' at 'parameters' failed to satisfy constraint:"
        " Member must have length greater than or equal to 1",
    }


def test_partiql_writes_reach_the_stream(dynamodb: Any, streams: Any) -> None:
    make_table(dynamodb, "pq-stream", sort=False, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = dynamodb.describe_table(TableName="pq-stream")["Table"]["LatestStreamArn"]
    run(dynamodb, "INSERT INTO \"pq-stream\" VALUE {'pk': 'Alice'}")
    run(dynamodb, "UPDATE \"pq-stream\" SET partiql = 1 WHERE pk = 'Alice'")
    run(dynamodb, "DELETE FROM \"pq-stream\" WHERE pk = 'Alice'")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[1]["dynamodb"]["NewImage"]["partiql"] == {"N": "1"}


def test_batch_execute_statement(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-batch", sort=False)
    dynamodb.put_item(TableName="pq-batch", Item={"pk": {"S": "user02"}})
    writes = dynamodb.batch_execute_statement(
        Statements=[
            {"Statement": "INSERT INTO \"pq-batch\" VALUE {'pk': 'user01'}"},
            {"Statement": "UPDATE \"pq-batch\" SET Age = 20 WHERE pk = 'user02'"},
            {"Statement": "INSERT INTO \"pq-batch\" VALUE {'pk': ?}", "Parameters": [{"S": "user02b"}]},
            {"Statement": "UPDATE \"pq-batch\" SET Age = 1 WHERE pk = 'ghost'"},
            {"Statement": "INSERT INTO \"pq-nope\" VALUE {'pk': 'x'}"},
            {"Statement": "NOT SQL"},
        ]
    )["Responses"]
    assert writes[:3] == [{"TableName": "pq-batch"}] * 3
    assert writes[3] == {"TableName": "pq-batch", "Error": {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}}
    assert writes[4]["Error"]["Code"] == "ResourceNotFound"
    assert writes[5] == {
        "Error": {"Code": "ValidationError", "Message": "Statement wasn't well formed, can't be processed: Expected data manipulation"}
    }
    assert dynamodb.get_item(TableName="pq-batch", Key={"pk": {"S": "user02"}})["Item"]["Age"] == {"N": "20"}

    reads = dynamodb.batch_execute_statement(
        Statements=[
            {"Statement": "SELECT * FROM \"pq-batch\" WHERE pk = 'user01'"},
            {"Statement": "SELECT * FROM \"pq-batch\" WHERE pk = 'none'"},
            {"Statement": 'SELECT * FROM "pq-batch" WHERE Age = 20'},
        ]
    )["Responses"]
    assert reads[0] == {"TableName": "pq-batch", "Item": {"pk": {"S": "user01"}}}
    assert reads[1] == {"TableName": "pq-batch"}
    assert reads[2]["Error"]["Message"] == (
        "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
    )

    mixed = error_of(
        lambda: dynamodb.batch_execute_statement(
            Statements=[
                {"Statement": "SELECT * FROM \"pq-batch\" WHERE pk = 'user01'"},
                {"Statement": "DELETE FROM \"pq-batch\" WHERE pk = 'user01'"},
            ]
        )
    )
    assert mixed == {"Code": "ValidationException", "Message": "Read and write requests together in the same batch is not supported."}
    same = error_of(
        lambda: dynamodb.batch_execute_statement(
            Statements=[
                {"Statement": "DELETE FROM \"pq-batch\" WHERE pk = 'user01'"},
                {"Statement": "UPDATE \"pq-batch\" SET a = 1 WHERE pk = 'user01'"},
            ]
        )
    )
    assert same["Message"] == "Provided list of item keys contains duplicates"

    measured = dynamodb.batch_execute_statement(
        Statements=[
            {"Statement": "INSERT INTO \"pq-batch\" VALUE {'pk': 'm1', 'price': 1.50}"},
            {"Statement": "INSERT INTO \"pq-batch\" VALUE {'pk': 'm2'}"},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert measured["ConsumedCapacity"] == [{"TableName": "pq-batch", "CapacityUnits": 2.0}]
    assert dynamodb.get_item(TableName="pq-batch", Key={"pk": {"S": "m1"}})["Item"]["price"] == {"N": "1.5"}


def test_execute_transaction(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-tx", sort=False)
    done = dynamodb.execute_transaction(
        TransactStatements=[
            {"Statement": "INSERT INTO \"pq-tx\" VALUE {'pk': 'user01'}"},
            {"Statement": "INSERT INTO \"pq-tx\" VALUE {'pk': 'user02', 'n': 1}"},
        ]
    )
    assert done["Responses"] == []
    read = dynamodb.execute_transaction(
        TransactStatements=[
            {"Statement": 'SELECT n FROM "pq-tx" WHERE pk = ?', "Parameters": [{"S": "user02"}]},
            {"Statement": "SELECT * FROM \"pq-tx\" WHERE pk = 'ghost'"},
            {"Statement": "SELECT * FROM \"pq-tx\" WHERE pk = 'user01' AND n = 1"},
        ]
    )
    assert read["Responses"] == [{"Item": {"n": {"N": "1"}}}, {}, {}]

    with pytest.raises(ClientError) as caught:
        dynamodb.execute_transaction(
            TransactStatements=[
                {"Statement": "UPDATE \"pq-tx\" SET n = 2 WHERE pk = 'user02'"},
                {"Statement": "INSERT INTO \"pq-tx\" VALUE {'pk': 'user01'}"},
            ]
        )
    response = caught.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert (
        response["Error"]["Message"]
        == "Transaction cancelled, please refer cancellation reasons for specific reasons [None, DuplicateItem]"
    )
    assert [r["Code"] for r in response["CancellationReasons"]] == ["None", "DuplicateItem"]
    assert dynamodb.get_item(TableName="pq-tx", Key={"pk": {"S": "user02"}})["Item"]["n"] == {"N": "1"}

    returning = error_of(
        lambda: dynamodb.execute_transaction(TransactStatements=[{"Statement": "DELETE FROM \"pq-tx\" WHERE pk = 'a' RETURNING ALL OLD *"}])
    )
    assert returning["Message"] == "Validation failed in TransactStatements[0]: RETURNING clause is not supported in ExecuteTransaction."
    mixed = error_of(
        lambda: dynamodb.execute_transaction(
            TransactStatements=[
                {"Statement": "SELECT * FROM \"pq-tx\" WHERE pk = 'user01'"},
                {"Statement": "DELETE FROM \"pq-tx\" WHERE pk = 'user02'"},
            ]
        )
    )
    assert mixed["Message"] == "ExecuteTransaction API does not support both read and write operations in the same request."


EMPTY_VALUE = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"


def test_malformed_parameters_are_refused_in_every_operation(aws: Callable[..., Any], dynamodb: Any) -> None:
    make_table(dynamodb, "pq-params", sort=False)
    unchecked = aws("dynamodb", parameter_validation=False)
    for statement in ('SELECT * FROM "pq-params" WHERE v = ?', "INSERT INTO \"pq-params\" VALUE {'pk': 'a', 'v': <<?>>}"):
        error = error_of(lambda s=statement: unchecked.execute_statement(Statement=s, Parameters=[{}]))
        assert error == {"Code": "ValidationException", "Message": EMPTY_VALUE}
    two = error_of(lambda: unchecked.execute_statement(Statement='INSERT INTO "pq-params" VALUE ?', Parameters=[{"M": {}, "S": "x"}]))
    assert two["Message"].startswith("Supplied AttributeValue has more than one datatypes set")
    # A batch member's parameters are checked with the request, as an empty list of them is.
    members = [{"Statement": 'SELECT * FROM "pq-params" WHERE pk = ?', "Parameters": [{}]}]
    assert error_of(lambda: unchecked.batch_execute_statement(Statements=members))["Message"] == EMPTY_VALUE
    assert error_of(lambda: unchecked.execute_transaction(TransactStatements=members))["Message"] == EMPTY_VALUE
    members = [{"Statement": 'SELECT * FROM "pq-params" WHERE pk = ?', "Parameters": []}]
    assert error_of(lambda: unchecked.batch_execute_statement(Statements=members)) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '[]' at 'statements.1.member.parameters' failed to satisfy constraint:"
        " Member must have length greater than or equal to 1",
    }
    assert dynamodb.scan(TableName="pq-params")["Items"] == []


def test_statement_length_is_checked_first(aws: Callable[..., Any], dynamodb: Any) -> None:
    make_table(dynamodb, "pq-length", sort=False)
    unchecked = aws("dynamodb", parameter_validation=False)
    assert error_of(lambda: unchecked.execute_statement(Statement="")) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '' at 'statement' failed to satisfy constraint:"
        " Member must have length greater than or equal to 1",
    }
    long = "SELECT * FROM \"pq-length\" WHERE pk = 'a'" + " " * 8200
    assert error_of(lambda: unchecked.execute_statement(Statement=long))["Message"] == (
        f"1 validation error detected: Value '{long}' at 'statement' failed to satisfy constraint:"
        " Member must have length less than or equal to 8192"
    )
    fits = "SELECT * FROM \"pq-length\" WHERE pk = 'a'"
    assert run(dynamodb, fits + " " * (8192 - len(fits)))["Items"] == []
    members = [{"Statement": fits}, {"Statement": long}]
    assert "at 'statements.2.member.statement'" in error_of(lambda: unchecked.batch_execute_statement(Statements=members))["Message"]
    assert (
        "at 'transactStatements.2.member.statement'"
        in error_of(lambda: unchecked.execute_transaction(TransactStatements=members))["Message"]
    )


def test_refusals_name_no_native_expression(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-words")
    dynamodb.put_item(TableName="pq-words", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "b": {"N": "1"}})
    error = error_of(lambda: run(dynamodb, "UPDATE \"pq-words\" SET a = b + 'x' WHERE pk = 'a' AND sk = 1"))
    assert error["Message"] == "Incorrect operand type for operator or function; operator or function: +, operand type: S"
    error = error_of(lambda: run(dynamodb, 'SELECT * FROM "pq-words" WHERE a = 1e400'))
    assert error["Message"] == "Number overflow. Attempting to store a number with magnitude larger than supported range"


def test_is_null_exists_and_order_by(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-null")
    dynamodb.put_item(TableName="pq-null", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"NULL": True}})
    dynamodb.put_item(TableName="pq-null", Item={"pk": {"S": "a"}, "sk": {"N": "2"}})
    dynamodb.put_item(TableName="pq-null", Item={"pk": {"S": "a"}, "sk": {"N": "3"}, "n": {"S": "x"}})
    assert [i["sk"]["N"] for i in run(dynamodb, "SELECT sk FROM \"pq-null\" WHERE pk = 'a' AND n IS NULL")["Items"]] == ["1", "2"]
    assert [i["sk"]["N"] for i in run(dynamodb, "SELECT sk FROM \"pq-null\" WHERE pk = 'a' AND n IS NOT NULL")["Items"]] == ["3"]
    ordered = run(dynamodb, "SELECT sk FROM \"pq-null\" WHERE pk = 'a' ORDER BY pk, sk DESC")["Items"]
    assert [i["sk"]["N"] for i in ordered] == ["3", "2", "1"]

    # EXISTS is a transaction's ConditionCheck: the write happens only when the item is there as described.
    check = {"Statement": "EXISTS(SELECT * FROM \"pq-null\" WHERE pk = 'a' AND sk = 3 AND n = 'x')"}
    write = {"Statement": "UPDATE \"pq-null\" SET done = 1 WHERE pk = 'a' AND sk = 2"}
    assert dynamodb.execute_transaction(TransactStatements=[check, write])["Responses"] == []
    assert dynamodb.get_item(TableName="pq-null", Key={"pk": {"S": "a"}, "sk": {"N": "2"}})["Item"]["done"] == {"N": "1"}
    failing = {"Statement": "EXISTS(SELECT * FROM \"pq-null\" WHERE pk = 'a' AND sk = 9)"}
    with pytest.raises(ClientError) as caught:
        dynamodb.execute_transaction(TransactStatements=[failing, {"Statement": write["Statement"].replace("done = 1", "done = 2")}])
    assert [r["Code"] for r in caught.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    assert dynamodb.get_item(TableName="pq-null", Key={"pk": {"S": "a"}, "sk": {"N": "2"}})["Item"]["done"] == {"N": "1"}
    assert error_of(lambda: run(dynamodb, check["Statement"]))["Code"] == "ValidationException"


def test_listed_partition_keys_are_read_in_order_and_paged(dynamodb: Any) -> None:
    make_table(dynamodb, "pq-in")
    for pk in ("a", "b", "c"):
        for sk in range(3):
            dynamodb.put_item(TableName="pq-in", Item={"pk": {"S": pk}, "sk": {"N": str(sk)}})
    statement = "SELECT pk, sk FROM \"pq-in\" WHERE pk IN ['c', 'a', 'zz'] AND sk >= 1"
    wanted = [("c", "1"), ("c", "2"), ("a", "1"), ("a", "2")]
    assert [(i["pk"]["S"], i["sk"]["N"]) for i in run(dynamodb, statement)["Items"]] == wanted
    seen: list[tuple[str, str]] = []
    page = run(dynamodb, statement, Limit=3)
    seen += [(i["pk"]["S"], i["sk"]["N"]) for i in page["Items"]]
    pages = 1
    while "NextToken" in page:
        page = run(dynamodb, statement, Limit=3, NextToken=page["NextToken"])
        seen += [(i["pk"]["S"], i["sk"]["N"]) for i in page["Items"]]
        pages += 1
    assert seen == wanted and pages <= 3
    ordered = run(dynamodb, "SELECT pk FROM \"pq-in\" WHERE pk = 'a' OR pk = 'c' OR pk = 'b' ORDER BY pk DESC, sk")["Items"]
    assert [i["pk"]["S"] for i in ordered] == ["c"] * 3 + ["b"] * 3 + ["a"] * 3
