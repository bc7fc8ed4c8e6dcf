"""docs/deploy.md lists, for every Function, its scopes, secrets and parameters exactly as its
manifest does (read here straight from ``functions/*/function.json``, not through the generator), and
its generated parts are current."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc.types import STAT_TYPES
from scripts import docs

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy.md"
MANIFESTS = sorted((ROOT / "functions").glob("*/function.json"))


def section(name: str) -> str:
    text = DEPLOY.read_text()
    match = re.search(
        rf"^### `{re.escape(name)}`\n(.*?)(?=^### |<!-- deploy:functions:end)", text, re.S | re.M
    )
    assert match, f"docs/deploy.md has no section for `{name}`: run `python -m scripts.docs`"
    return match.group(1)


def table(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table whose first header cell is ``header``, as cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_the_guide_lists_each_functions_scopes_secrets_and_parameters(path: Path) -> None:
    m: dict[str, Any] = json.loads(path.read_text())
    text = section(m["name"])
    scopes = re.search(r"^\* Token scopes: (.*)\.$", text, re.M)
    assert scopes and re.findall(r"`([^`]+)`", scopes.group(1)) == m["scopes"]
    secrets = [row[0].strip("`") for row in table(text, "secret")]
    own = [*m["secrets"].get("required", []), *m["secrets"].get("optional", [])]
    assert secrets == ["SAMSARA_API_TOKEN", *own, "the sink's"]
    for row in table(text, "secret")[1:-1]:
        name = row[0].strip("`")
        assert row[1] == ("yes" if name in m["secrets"]["required"] else "no")
        assert row[2] == m["secrets"]["help"][name]
    params = m.get("parameters", [])
    if not params:
        assert "No event parameters." in text
        return
    rows = table(text, "event parameter")
    assert [r[0].strip("`") for r in rows] == [p["name"] for p in params]
    for row, p in zip(rows, params, strict=True):
        assert row[1] == (f"`{p['default']}`" if "default" in p else "none"), p["name"]
        assert row[3] == p["help"], p["name"]
        for choice in p.get("choices", []):
            assert f"`{choice}`" in row[2], (p["name"], choice)
    if m.get("schedule", {}).get("cron"):
        assert f"* Schedule: `{m['schedule']['cron']}`" in text
    for field in m.get("alertFields", []):
        assert f"`{field}`" in text


def test_every_section_is_a_function() -> None:
    names = re.findall(r"^### `([a-z0-9-]+)`$", DEPLOY.read_text(), re.M)
    assert names == sorted(json.loads(p.read_text())["name"] for p in MANIFESTS)


def test_generated_parts_are_current() -> None:
    assert docs.main(["--check"]) == 0, "stale: run `python -m scripts.docs`"


def test_the_error_table_covers_what_a_run_can_return() -> None:
    rows = table(DEPLOY.read_text(), "`error`")
    names = [r[0].strip("`") for r in rows]
    assert {"ConfigurationError", "PermissionDeniedError", "AuthenticationError", "DeliveryError"} <= set(
        names
    )
    by_name = {r[0].strip("`"): r for r in rows}
    assert by_name["RateLimitError"][2].startswith("yes") and "none needed" in by_name["RateLimitError"][3]
    assert by_name["PermissionDeniedError"][2].startswith("no")


def test_stat_type_names_are_the_vehicle_stats_functions() -> None:
    """``samsara_fmc.types.StatType`` names what the vehicle-stats Function accepts."""
    m = json.loads((ROOT / "functions" / "vehicle-stats" / "function.json").read_text())
    (types,) = [p for p in m["parameters"] if p["name"] == "types"]
    assert set(types["choices"]) == STAT_TYPES
