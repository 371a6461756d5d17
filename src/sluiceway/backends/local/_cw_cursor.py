"""A CloudWatch feed's read loop: rows after its cursor, stored with the cursor, exactly once.

The feeds (``cloudwatch_feeds.py``, ``_cw_event_feed.py``) read records after their cursor in
batches and store each batch's data points together with the cursor moved past it, in one
transaction that holds only if the cursor is still where the batch was read from: two feeders
over one data dir never count a record twice, and a feeder that lost the race reads on from
where the other got to.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ._cw_values import Datum
from .cloudwatch import SqliteCloudWatch


def pull_batches(
    store: SqliteCloudWatch,
    name: str,
    batch: int,
    read: Callable[[int], list[sqlite3.Row]],
    data_of: Callable[[list[sqlite3.Row]], list[Datum]],
) -> int:
    """Feed every batch after the feed ``name``'s cursor; return how many data points were stored.

    Args:
        read: the rows after a cursor position (at most about ``batch``; each has an ``id``, the
            position it moves the cursor to); fewer than ``batch`` means that was the last.
        data_of: the data points of a batch of rows.
    """
    fed = 0
    while True:
        after = store.cursor(name)
        rows = read(after)
        if not rows:
            return fed
        data = data_of(rows)
        if not store.put(data, feed=(name, int(rows[-1]["id"])), expected=after):
            continue  # another feeder stored this range first: read on from where it got to
        fed += len(data)
        if len(rows) < batch:
            return fed
