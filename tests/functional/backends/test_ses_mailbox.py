"""The SES mailbox's .eml files: written whole through a fresh partial file, never through a planted link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.ses_mail import SqliteMailbox
from sluiceway.clock import FakeClock

ID = "0000018f2e8a0000-6f1c7f4e-1111-2222-3333-444455556666-000000"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    yield database
    database.close()


def _capture(box: SqliteMailbox, raw: bytes) -> None:
    box.capture(
        message_id=ID,
        region="us-east-1",
        operation="SendRawEmail",
        source="a@b.example",
        recipients=("c@d.example",),
        subject=None,
        raw=raw,
        relay=False,
    )


def test_a_message_is_written_whole_and_leaves_no_partial(db: Database, tmp_path: Path) -> None:
    box = SqliteMailbox(db, tmp_path / "ses", FakeClock())
    _capture(box, b"From: a@b.example\r\n\r\nhi")
    assert (tmp_path / "ses" / f"{ID}.eml").read_bytes() == b"From: a@b.example\r\n\r\nhi"
    assert [p.name for p in (tmp_path / "ses").iterdir()] == [f"{ID}.eml"]


def test_a_link_planted_as_the_partial_file_is_never_written_through(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "ses"
    folder.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"keep me")
    (folder / f".{ID}.eml.partial").symlink_to(target)
    box = SqliteMailbox(db, folder, FakeClock())
    with pytest.raises(FileExistsError):
        _capture(box, b"From: a@b.example\r\n\r\nhi")
    assert target.read_bytes() == b"keep me"
    assert not (folder / f"{ID}.eml").exists() and box.message(ID) is None
