"""What the file system alone charges a folder-backed, durable S3 PutObject on this machine.

A local bucket is a folder: each object is the user's plain file, described by a sidecar
(``backends/local/objects.py``). A PutObject therefore writes two files, each through a temporary
file renamed into place, and makes the object's bytes and folder durable (fsync). This script
times exactly those system calls, with no Python of ours around them, for a 4 KiB object:

* ``create+write+rename``: one file written atomically (what the sidecar costs);
* ``+ fsync file``: the same with its bytes made durable (what the object costs);
* ``+ fsync folder``: and its rename made durable;
* ``put floor``: object + sidecar + folder fsync, the least a durable folder-backed put costs.

It prints CPU (user + system) and wall microseconds per operation. Compare the floor with the
server CPU per S3 loop that ``bench/endpoint.py`` prints for the in-memory peers: a target
below the floor cannot be met without giving up plain files or durability.

    .venv/bin/python bench/s3_floor.py [--count 2000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import tempfile
import time
from collections.abc import Callable

PAYLOAD = os.urandom(4096)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _write(folder: int, name: str, *, sync_file: bool, sync_folder: bool) -> None:
    staged = f"put-{secrets.token_hex(8)}.tmp"
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
    try:
        os.write(fd, PAYLOAD)
        if sync_file:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(staged, name, src_dir_fd=folder, dst_dir_fd=folder)
    if sync_folder:
        os.fsync(folder)


def _time(label: str, step: Callable[[int], None], count: int) -> None:
    for i in range(50):
        step(i)
    cpu, wall = _cpu(), time.perf_counter()
    for i in range(count):
        step(i)
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    print(f"{label:24} cpu {cpu / count * 1e6:7.1f} us   wall {wall / count * 1e6:7.1f} us", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--dir", default=None, help="where to write (default: a temporary folder; use the data dir's disk)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as root:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _time("create+write+rename", lambda i: _write(folder, f"o{i % 500}", sync_file=False, sync_folder=False), args.count)
            _time("+ fsync file", lambda i: _write(folder, f"o{i % 500}", sync_file=True, sync_folder=False), args.count)
            _time("+ fsync folder", lambda i: _write(folder, f"o{i % 500}", sync_file=True, sync_folder=True), args.count)

            def put(i: int) -> None:
                _write(folder, f"m{i % 500}", sync_file=False, sync_folder=False)  # the sidecar
                _write(folder, f"o{i % 500}", sync_file=True, sync_folder=True)  # the object

            _time("put floor", put, args.count)
        finally:
            os.close(folder)


if __name__ == "__main__":
    main()
