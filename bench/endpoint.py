"""Benchmark: the same boto3 loops against our endpoint, a moto server and MiniStack, in one run.

Each peer is a server in a process of its own on 127.0.0.1; one boto3 client per
service drives it from this process, one operation at a time (what a Lambda
handler or a script does):

* S3: PutObject + GetObject of 4 KiB;
* SQS: SendMessage + ReceiveMessage + DeleteMessage;
* DynamoDB: PutItem + GetItem.

Ours is ``sluiceway up`` on a fresh data dir: every write is a committed SQLite
transaction (WAL) or a file renamed into place, so it survives kill -9. moto and
MiniStack keep everything in memory. MiniStack pins its own botocore, so it is
installed into ``bench/.cache/ministack`` on first use (PyPI).

    .venv/bin/python bench/endpoint.py [--seconds 5] [--rounds 3] [--only ours,moto,ministack]

Prints loops per second for each peer and service (the median of the rounds)
and our ratio against each peer. Targets: at least 3x MiniStack and 10x moto.
The ``ceiling`` peer (``bench/_ceiling.py``) does nothing but answer: its loops per
second are the most any server can show to these clients, so the last table says how
far above each peer any server could get.

One boto3 client spends about a millisecond of its own per call (serializing,
signing, parsing), which caps what any server can show with ``--clients 1``;
``--clients N`` runs N client processes at once, so that the servers' own
capacity decides (on a 2-core machine the clients compete with the server).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and bench/queue.py would stand in for
# the standard library's queue module (urllib3 needs the real one).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import psutil
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
MINISTACK_VENV = CACHE / "ministack"
PAYLOAD = os.urandom(4096)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up in {timeout} s")


@contextmanager
def ours() -> Iterator[tuple[str, int]]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "SLUICEWAY_LOG_LEVEL": "WARNING", "SLUICEWAY_WORKERS": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-c", "from sluiceway.cli.main import main; main()", "up", "--data-dir", data, "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{url}/_sluiceway/health", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit("sluiceway up exited") from None
                    time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=60)


@contextmanager
def moto() -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def ministack() -> Iterator[tuple[str, int]]:
    binary = MINISTACK_VENV / "bin" / "ministack"
    if not binary.exists():
        print("installing ministack into bench/.cache/ministack (once) ...", flush=True)
        subprocess.run([shutil.which("python3.11") or sys.executable, "-m", "venv", str(MINISTACK_VENV)], check=True)
        subprocess.run([str(MINISTACK_VENV / "bin" / "pip"), "install", "--quiet", "ministack"], check=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "GATEWAY_PORT": str(port), "MINISTACK_HOST": "127.0.0.1", "HOME": state}
        env.pop("PYTHONPATH", None)
        proc = subprocess.Popen([str(binary)], env=env, cwd=state, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_up(url, proc)
            time.sleep(1.0)  # its ASGI app answers the socket before its routes are ready
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@contextmanager
def ceiling() -> Iterator[tuple[str, int]]:
    """A server that does nothing but answer (``bench/_ceiling.py``): the most the client can show."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "_ceiling.py"), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


PEERS: dict[str, Callable[[], Any]] = {"ours": ours, "moto": moto, "ministack": ministack, "ceiling": ceiling}


def clients(url: str) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return {name: session.client(name, endpoint_url=url, config=config) for name in ("s3", "sqs", "dynamodb")}


def loops(url: str) -> dict[str, Callable[[int], None]]:
    c = clients(url)
    run = uuid.uuid4().hex[:8]
    bucket, queue, table = f"bench-{run}", f"bench-{run}", f"bench-{run}"
    c["s3"].create_bucket(Bucket=bucket)
    queue_url = c["sqs"].create_queue(QueueName=queue)["QueueUrl"]
    c["dynamodb"].create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def s3(i: int) -> None:
        key = f"objects/{i % 500}.bin"
        c["s3"].put_object(Bucket=bucket, Key=key, Body=PAYLOAD)
        assert len(c["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()) == len(PAYLOAD)

    def sqs(i: int) -> None:
        c["sqs"].send_message(QueueUrl=queue_url, MessageBody=f"message {i}")
        got = c["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
        c["sqs"].delete_message(QueueUrl=queue_url, ReceiptHandle=got[0]["ReceiptHandle"])

    def dynamodb(i: int) -> None:
        key = {"pk": {"S": f"item-{i % 500}"}}
        c["dynamodb"].put_item(TableName=table, Item={**key, "n": {"N": str(i)}, "data": {"S": "x" * 200}})
        assert "Item" in c["dynamodb"].get_item(TableName=table, Key=key)

    return {"s3": s3, "sqs": sqs, "dynamodb": dynamodb}


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server's process and its children have used so far."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(loop: Callable[[int], None], seconds: float) -> tuple[float, int]:
    """Loops per second, and the loops done (warm-up excluded)."""
    for i in range(20):  # warm connections and caches
        loop(i)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        loop(done)
        done += 1
    return done / (time.perf_counter() - start), done


def _client_process(url: str, service: str, seconds: float, results: Any) -> None:
    results.put(measure(loops(url)[service], seconds))


def measure_clients(url: str, service: str, seconds: float, clients: int) -> tuple[float, int]:
    """Loops per second and loops done, summed over ``clients`` client processes running at once."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    procs = [context.Process(target=_client_process, args=(url, service, seconds, results)) for _ in range(clients)]
    for proc in procs:
        proc.start()
    answers = [results.get(timeout=seconds * 10 + 120) for _ in procs]
    for proc in procs:
        proc.join()
    return float(sum(rate for rate, _ in answers)), sum(done for _, done in answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per loop and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="ours,moto,ministack,ceiling")
    parser.add_argument("--clients", type=int, default=1, help="client processes looping at once (1: one boto3 client, as a handler)")
    args = parser.parse_args()
    peers = [p for p in args.only.split(",") if p]
    services = ("s3", "sqs", "dynamodb")
    rates: dict[str, dict[str, list[float]]] = {p: {s: [] for s in services} for p in peers}
    costs: dict[str, dict[str, list[float]]] = {p: {s: [] for s in services} for p in peers}
    for round_ in range(args.rounds):
        for peer in peers:  # alternate peers each round: machine noise hits all of them alike
            with PEERS[peer]() as (url, pid):
                for service, loop in loops(url).items():
                    cpu_before = server_cpu(pid)
                    if args.clients == 1:
                        rate, done = measure(loop, args.seconds)
                    else:
                        rate, done = measure_clients(url, service, args.seconds, args.clients)
                    cost = (server_cpu(pid) - cpu_before) / max(done, 1)
                    rates[peer][service].append(rate)
                    costs[peer][service].append(cost)
                    line = f"round {round_ + 1} {peer:10} {service:9} {rate:9.1f} loops/s  server CPU {cost * 1000:7.3f} ms/loop"
                    print(line, flush=True)
    others = [p for p in peers if p not in ("ours", "ceiling") and "ours" in peers]
    _table("loops/s (median): what one boto3 client sees", services, peers, others, rates, higher_is_better=True)
    _table("server CPU ms per loop (median): the server's own cost", services, peers, others, costs, higher_is_better=False)
    if "ceiling" in peers:
        _ceilings(services, [p for p in peers if p not in ("ours", "ceiling")], rates)


def _ceilings(services: tuple[str, ...], peers: list[str], rates: dict[str, dict[str, list[float]]]) -> None:
    """The most any server could show against each peer with these clients: the ceiling's loops/s over the peer's."""
    print()
    print("the most any server can show (the ceiling's loops/s over each peer's)")
    print(f"{'':10}" + "".join(f"{'ceiling vs ' + p:>18}" for p in peers))
    for service in services:
        top = statistics.median(rates["ceiling"][service])
        print(f"{service:10}" + "".join(f"{top / statistics.median(rates[p][service]):>17.2f}x" for p in peers))


def _table(
    title: str,
    services: tuple[str, ...],
    peers: list[str],
    others: list[str],
    values: dict[str, dict[str, list[float]]],
    *,
    higher_is_better: bool,
) -> None:
    """One table: a column per peer, then our advantage over each other peer (above 1 is better for us)."""
    print()
    print(title)
    print(f"{'':10}" + "".join(f"{p:>12}" for p in peers) + "".join(f"{'ours vs ' + p:>18}" for p in others))
    for service in services:
        medians = {p: statistics.median(values[p][service]) for p in peers}
        scale = 1.0 if higher_is_better else 1000.0
        ratios = "".join(
            f"{(medians['ours'] / medians[p] if higher_is_better else medians[p] / max(medians['ours'], 1e-9)):>17.2f}x" for p in others
        )
        print(f"{service:10}" + "".join(f"{medians[p] * scale:>12.3f}" for p in peers) + ratios)


if __name__ == "__main__":
    main()
