"""Every Function folder is a manifest and a thin handler, and the README's table is generated from them."""

from __future__ import annotations

import ast
from pathlib import Path

from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.runtime.scopes import PROBES
from scripts.docs import ROOT, readme_with_table


def test_functions_hold_only_a_manifest_and_a_handler() -> None:
    folders = sorted(p for p in (ROOT / "functions").iterdir() if not p.name.startswith("."))
    assert folders, "at least one Function"
    for folder in folders:
        assert folder.is_dir(), f"{folder.name}: functions/ holds only Function folders"
        files = {p.name for p in folder.iterdir() if p.name not in ("lib", "__pycache__", ".samsara-fn")}
        assert files == {"function.py", "function.json"}, f"{folder.name}: {files}"
        m = Manifest.load(folder / "function.json")
        assert m.name == folder.name and len(m.name) <= 35
        module, func = m.handler.split(".")
        tree = ast.parse((folder / f"{module}.py").read_text())
        assert func in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert set(m.scopes) <= set(PROBES), "every scope can be probed by the preflight"


def test_readme_table_is_generated_from_the_manifests() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme_with_table(readme) == readme, "stale: run `python -m scripts.docs`"
    for p in sorted((ROOT / "functions").glob("*/function.json")):
        assert f"`{Manifest.load(p).name}`" in readme


def test_the_check_fails_on_a_stale_table(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    stale = readme.replace("Read Vehicle Statistics |", "Read Vehicles |", 1)
    assert readme_with_table(stale) != stale
