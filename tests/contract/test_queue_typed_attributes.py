"""The Queue contract for typed message attributes (what SNS's raw delivery sends), on SQLite,
on SQS (moto) and on our endpoint."""

from __future__ import annotations

import base64

from sluiceway.messaging.sqs_attributes import MessageAttributeValue

from .conftest import QueuesCase

QUEUE = "typed"


def test_typed_attributes_arrive_with_their_values(queues: QueuesCase) -> None:
    queues.service.create_queue(QUEUE)
    queues.service.send(
        QUEUE,
        "{}",
        attributes={
            "plain": "text",
            "amount": MessageAttributeValue("Number", "12.5"),
            "labelled": MessageAttributeValue("Number.price", "3"),
            "blob": MessageAttributeValue("Binary", binary_value=b"\x02\x03\x04"),
            "list": MessageAttributeValue("String.Array", '["a", 1]'),
        },
    )

    [message] = queues.service.receive(QUEUE)

    # The port gives values as text: Binary in base64, as Lambda's SQS event carries it.
    assert dict(message.attributes) == {
        "plain": "text",
        "amount": "12.5",
        "labelled": "3",
        "blob": base64.b64encode(b"\x02\x03\x04").decode(),
        "list": '["a", 1]',
    }
