"""What a folder-backed object keeps besides its bytes (tags, storage class, ACL) and how it is amended.

Tags and ACLs live in the object's sidecar: they survive a reopen of the store, go with the
object when it is rewritten, and are changed without a new write (same ETag, same sequencer).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.errors import NotFoundError


def test_a_write_keeps_its_tags_class_and_grants_across_a_reopen(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    grants = [{"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers", "Permission": "READ"}]
    store.put("bkt", "k", b"x", tags=[("a", "1")], storage_class="GLACIER", grants=grants)
    info = FileObjectStore(tmp_path).head("bkt", "k")
    assert (info.tags, info.storage_class, info.grants) == ((("a", "1"),), "GLACIER", tuple(grants))


def test_amending_tags_is_no_new_write_and_a_rewrite_drops_them(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    written = store.put("bkt", "k", b"x", tags=[("a", "1")])
    amended = store.amend("bkt", "k", tags=[("b", "2")])
    assert amended.tags == (("b", "2"),)
    assert (amended.etag, amended.sequencer) == (written.etag, written.sequencer)
    assert FileObjectStore(tmp_path).head("bkt", "k").tags == (("b", "2"),)
    assert store.amend("bkt", "k", tags=None).tags == ()
    store.amend("bkt", "k", tags=[("c", "3")])
    assert store.put("bkt", "k", b"y").tags == ()


def test_amending_a_file_another_program_changed_amends_the_file_as_it_is(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.put("bkt", "k", b"x", tags=[("a", "1")])
    (tmp_path / "bkt" / "k").write_bytes(b"changed by hand")
    amended = store.amend("bkt", "k", tags=[("b", "2")])
    assert amended.size == len(b"changed by hand")
    assert store.head("bkt", "k").tags == (("b", "2"),)


def test_amending_a_missing_object_or_an_unknown_field_is_refused(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.ensure_bucket("bkt")
    with pytest.raises(NotFoundError):
        store.amend("bkt", "missing", tags=[("a", "1")])
    store.put("bkt", "k", b"x")
    with pytest.raises(ValueError, match="metadata"):
        store.amend("bkt", "k", metadata={})
