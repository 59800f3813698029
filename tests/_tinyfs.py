"""A real small file system for the disk-full tests: a tmpfs of a few hundred KiB, mounted for the
test (root, as the CI runs; skipped where mounting is not allowed)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def tiny_filesystem(path: Path, size_kib: int):
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): the disk-full tests run as root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int) -> Path:
    """Write a filler file so that about *leave* bytes stay free on *path*'s file system."""
    filler = path / "filler.bin"
    with open(filler, "wb") as fh:
        while free_bytes(path) > leave + 4096:
            try:
                fh.write(b"\0" * min(1 << 16, free_bytes(path) - leave - 4096))
                fh.flush()
            except OSError:
                break
    return filler
