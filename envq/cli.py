"""The ``envq`` command line: one entry point, one sub-command group per domain.

Each domain module (``envq.air.cli``, ``envq.water.cli``, ``envq.water.reach_cli``) exposes
``register(subparsers)``, which adds its group and sets ``func`` on every leaf parser;
``func(args)`` returns the exit code. Packages that sit above envq (``geo``, ``maps``, ``flows``)
add their groups through the ``envq.commands`` entry-point group declared in ``pyproject.toml``,
so envq itself never imports them.
Exit codes: 0 success, 1 failure while computing, 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

__all__ = ["main", "build_parser"]

_GROUPS = ("envq.air.cli", "envq.water.cli", "envq.water.reach_cli", "envq.audit.cli")
_ENTRY_POINT_GROUP = "envq.commands"


def _registrars():
    """``register`` functions of the built-in groups, then of the installed entry points."""
    for name in _GROUPS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a group not installed
            if not (name == exc.name or name.startswith(f"{exc.name}.")):
                raise
            continue
        yield module.register
    for ep in sorted(entry_points(group=_ENTRY_POINT_GROUP), key=lambda e: e.name):
        yield ep.load()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envq",
        description="Hunan environmental-quality aggregator: AQI and good-air-day rates "
        "(HJ 633, HJ 663, GB 3095) and surface-water classes (GB 3838-2002).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrars():
        register(sub)
    return parser


def _plain_warning(message, category, filename, lineno, line=None) -> str:
    return f"envq: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    from envq.errors import InputError

    warnings.formatwarning = _plain_warning  # users see the message, not envq's source line
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"envq: bad input: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # missing or unreadable files: what, which file, what to do
        from envq.errors import describe_os_error

        print(f"envq: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except (EOFError, KeyError, ValueError) as exc:
        print(f"envq: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
