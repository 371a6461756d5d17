"""The execution role of a function made through Lambda's API, read from the kept functions' file.

Kinesis records name the function's role (``invokeIdentityArn``). The functions CreateFunction
made are kept, with their ``Role``, in ``<data dir>/lambda.db`` (:class:`.lambda_functions.SqliteFunctionCatalog`,
opened by the endpoint); this reads one function's role from that file without opening the
catalog itself, whose opening also sweeps its packages.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Final

from .lambda_functions import StoredFunction

__all__ = ["CATALOG_FILE", "stored_role"]

CATALOG_FILE: Final = "lambda.db"
"""The kept functions' file in the data dir (where the endpoint's catalog keeps them)."""


def stored_role(data_dir: Path, name: str) -> str | None:
    """The role of the API-made function ``name``; None when there is none (a template's function)."""
    path = data_dir / CATALOG_FILE
    if not path.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
            row = conn.execute("SELECT config FROM lambda_functions WHERE name = ?", (name,)).fetchone()
    except sqlite3.OperationalError:  # the file's schema is not made yet
        return None
    return None if row is None else StoredFunction.from_json(str(row[0])).role
