"""Handlers whose output the invoker's observability reads (``test_invocation_observability``)."""

import json
import time


def huge_emf(event, context):
    # Valid JSON; Python's json reads the value as an int too big for a float.
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": "Shop", "Dimensions": [["service"]], "Metrics": [{"Name": "Orders", "Unit": "Count"}]}],
        },
        "service": "checkout",
        "Orders": 10**400,
    }
    print(json.dumps(line))
    print("after the metric line")
    return {"ok": True}


def orders(event, context):
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": "Shop", "Dimensions": [["service"]], "Metrics": [{"Name": "Orders", "Unit": "Count"}]}],
        },
        "service": "checkout",
        "Orders": 2,
    }
    print(json.dumps(line))
    return {"ok": True}
