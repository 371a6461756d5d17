"""Works on an order: rejects an invalid one, and fails until the flag object ``ok`` exists."""

import json
import os

import boto3


class InvalidOrder(Exception):
    pass


def handler(event, context):
    print(json.dumps({"order": event.get("id"), "kind": event.get("kind")}))
    if event.get("invalid"):
        raise InvalidOrder(f"order {event.get('id')} is invalid")
    s3 = boto3.client("s3")
    try:
        s3.head_object(Bucket=os.environ["FLAG_BUCKET"], Key="ok")
    except s3.exceptions.ClientError as error:
        raise RuntimeError("the flag object ok is missing: put it, then redrive") from error
    return {**event, "worked": True}
