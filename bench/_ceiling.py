"""The ceiling: a server that does nothing but answer, so the loops measure the client alone.

``bench/endpoint.py`` runs it as a peer, ``ceiling``. It answers each operation the loops
make (and their set-up calls) with the smallest answer boto3 accepts: an ETag and the bytes
last put for S3, the message last sent (with its MD5, which boto3 checks) for SQS, the item
last put for DynamoDB. It keeps them in memory, parses only the request line and headers,
and writes one canned answer per request. No real service can cost less per request.

Its loops per second are therefore the most a single boto3 client can show against any
server on this machine: a target stated in client loops per second cannot be met when the
ceiling itself is below it. Its server CPU per loop is the floor of a Python server's
sockets and threads (about 20 µs a request here), to set the others' against.

    python bench/_ceiling.py PORT
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import uuid
from typing import Any, BinaryIO

_KEEP: dict[str, Any] = {}
"""What the last write left, by bucket/key, queue or table: enough to answer the reads that follow it."""


def _answer(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _json(value: Any, kind: str = "application/x-amz-json-1.0") -> bytes:
    return _answer(200, {"Content-Type": kind, "x-amzn-RequestId": str(uuid.uuid4())}, json.dumps(value).encode())


def _sqs(action: str, request: dict[str, Any]) -> bytes:
    if action == "CreateQueue":
        return _json({"QueueUrl": f"http://127.0.0.1/000000000000/{request['QueueName']}"})
    if action == "SendMessage":
        body = request["MessageBody"]
        digest = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
        _KEEP[request["QueueUrl"]] = (body, digest)
        return _json({"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": digest})
    if action == "ReceiveMessage":
        body, digest = _KEEP[request["QueueUrl"]]
        return _json({"Messages": [{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "handle", "MD5OfBody": digest, "Body": body}]})
    return _json({})


def _dynamodb(action: str, request: dict[str, Any]) -> bytes:
    if action == "CreateTable":
        return _json({"TableDescription": {"TableName": request["TableName"], "TableStatus": "ACTIVE"}})
    if action == "PutItem":
        _KEEP[request["TableName"]] = request["Item"]
        return _json({})
    if action == "GetItem":
        return _json({"Item": _KEEP[request["TableName"]]})
    return _json({})


def _s3(method: str, path: str, body: bytes) -> bytes:
    if method == "PUT":
        if path.count("/") >= 2:  # an object; a bucket is only created
            _KEEP[path] = body
        return _answer(200, {"ETag": f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'}, b"")
    return _answer(200, {"Content-Type": "application/octet-stream"}, _KEEP[path])


def _serve(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader: BinaryIO = conn.makefile("rb")
    with conn, reader:
        while line := reader.readline():
            method, target, _ = line.decode().split(" ", 2)
            headers: dict[str, str] = {}
            while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("expect", "").lower() == "100-continue":  # boto3's PutObject waits a second for it otherwise
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = reader.read(int(headers.get("content-length", "0")))
            amz_target = headers.get("x-amz-target", "")
            service, _, action = amz_target.partition(".")
            if service == "AmazonSQS":
                answer = _sqs(action, json.loads(body))
            elif service.startswith("DynamoDB"):
                answer = _dynamodb(action, json.loads(body))
            else:
                answer = _s3(method, target.split("?")[0], body)
            conn.sendall(answer)


def main() -> None:
    server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
