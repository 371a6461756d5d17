"""A real Prometheus server (Debian's ``prometheus``) scrapes a running stack.

The stack runs the CSV workflow behind its endpoint; Prometheus scrapes
``/_sluiceway/metrics`` every second; N files are uploaded through the endpoint's S3 API
(as a user's ``aws s3 cp`` would); then PromQL over Prometheus's HTTP API must count N
succeeded executions, and the pipeline's rows.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.data.samples import write_sales_csv
from sluiceway.endpoint.server import Endpoint
from sluiceway.observability.exposition import METRICS_PATH
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
UPLOADS = 3
DEADLINE_S = 60.0

pytestmark = pytest.mark.skipif(
    not Path(PROMETHEUS).exists(),
    reason="Prometheus is not installed (`make test` installs Debian's prometheus package where apt-get exists)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    settings = Settings.load(data_dir=tmp_path / "data", workers=2, endpoint_port=_free_port())
    stack: Stack = build_stack(settings)
    stack.start("prometheus e2e")
    served = Endpoint(stack, host="127.0.0.1", port=settings.endpoint_port)
    served.start()
    try:
        yield served
    finally:
        served.close()
        stack.close()


@pytest.fixture
def prometheus(endpoint: Endpoint, tmp_path: Path) -> Iterator[str]:
    """A Prometheus server scraping the endpoint every second; yields its URL."""
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "sluiceway",
                        "metrics_path": METRICS_PATH,
                        "static_configs": [{"targets": [f"127.0.0.1:{endpoint.port}"]}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    log = (tmp_path / "prometheus.log").open("wb")
    server = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(url + "/-/ready") is not None or server.poll() is not None, "Prometheus ready")
        assert server.poll() is None, (tmp_path / "prometheus.log").read_text(errors="replace")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bytes(response.read())
    except OSError:
        return None


def _wait(check: Any, what: str, timeout: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s")


def query(prometheus: str, promql: str) -> float | None:
    """The value of an instant PromQL query with one result (None: no result yet)."""
    body = _get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    if body is None:
        return None
    answer = json.loads(body)
    assert answer["status"] == "success", answer
    results = answer["data"]["result"]
    return float(results[0]["value"][1]) if results else None


def test_prometheus_counts_the_executions_of_n_uploads(endpoint: Endpoint, prometheus: str, tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    s3 = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1").client(
        "s3", endpoint_url=endpoint.url, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    )
    rows = 0
    for index in range(UPLOADS):
        path = tmp_path / f"sales-{index}.csv"
        rows += write_sales_csv(path, rows=40, seed=index)
        s3.upload_file(str(path), endpoint.stack.settings.input_bucket, f"prometheus/{index}.csv")

    succeeded = 'sum(sluiceway_executions_total{status="SUCCEEDED"})'
    _wait(lambda: query(prometheus, succeeded) == UPLOADS, f"{UPLOADS} succeeded executions in Prometheus")

    assert query(prometheus, 'sum(sluiceway_executions_started_total{state_machine="DataProcessingWorkflow"})') == UPLOADS
    assert query(prometheus, "sum(sluiceway_executions_total) - sum(sluiceway_executions_started_total)") == 0
    _wait(lambda: query(prometheus, 'sum(sluiceway_pipeline_rows_read_total{pipeline="sales"})') == rows, "the rows read")
    assert query(prometheus, 'sum(sluiceway_function_invocations_total{function="ValidateData"})') == UPLOADS
    assert query(prometheus, 'sum(sluiceway_function_duration_seconds_count{function="StoreResults"})') == UPLOADS
    assert query(prometheus, 'up{job="sluiceway"}') == 1
