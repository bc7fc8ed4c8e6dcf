"""``python -m samsara_fmc.records [--write DIR | --check DIR]``: list, write or check the record schemas."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from samsara_fmc.records import all_types, schema_text


def main(argv: Sequence[str] | None = None) -> int:
    """Writes ``<name>.schema.json`` per record type into ``--write DIR``, or reports files that differ."""
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
        for t in all_types():
            (out / f"{t.name}.schema.json").write_text(schema_text(t), encoding="utf-8")
            print(f"wrote {out / f'{t.name}.schema.json'}")
        return 0
    if args.check:
        stale: list[Path] = []
        for t in all_types():
            path = Path(args.check) / f"{t.name}.schema.json"
            if not path.is_file() or path.read_text(encoding="utf-8") != schema_text(t):
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
