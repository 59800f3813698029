"""Small helpers shared by the store tests."""

import os


def tree(path) -> dict[str, bytes]:
    """Every file under *path* by relative path -> bytes."""
    out = {}
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
    return out
