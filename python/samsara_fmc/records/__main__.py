"""``python -m samsara_fmc.records [--write DIR | --check DIR]``: list, write or check the record schemas."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from samsara_fmc.records import all_types, generated_files


def main(argv: Sequence[str] | None = None) -> int:
    """Writes ``<name>.schema.json`` per record type and ``README.md`` into ``--write DIR``, or reports
    files that differ (``--check DIR``)."""
    p = argparse.ArgumentParser(
        prog="python -m samsara_fmc.records",
        description="The JSON Schemas of the record types (docs/schemas/).",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="DIR", help="write <record>.schema.json files into DIR")
    group.add_argument("--check", metavar="DIR", help="exit 1 when a file in DIR differs from its definition")
    args = p.parse_args(argv)
    if args.write:
        out = Path(args.write)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in generated_files().items():
            (out / name).write_text(text, encoding="utf-8")
            print(f"wrote {out / name}")
        return 0
    if args.check:
        stale: list[Path] = []
        for name, text in generated_files().items():
            path = Path(args.check) / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        for path in stale:
            fix = f"python -m samsara_fmc.records --write {args.check}"
            print(f"`{path}` differs from its definition: run `{fix}`")
        return 1 if stale else 0
    for t in all_types():
        print(f"{t.name:<16} stream {t.stream:<16} v{t.version}  {len(t.all_fields())} fields")
    return 0


if __name__ == "__main__":
    sys.exit(main())
