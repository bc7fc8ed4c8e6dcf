"""Every code block in README.md and docs/ works, so the docs cannot rot.

* ```python blocks run, each in a fresh interpreter, against a sandbox of their own, with
  ``SAMSARA_API_TOKEN`` and ``SAMSARA_BASE_URL`` set as the README tells users to set them.
* ```sh blocks are checked, not run (they build, start servers or need a real organisation): each
  command exists (on ``PATH``, in the venv, a file of the repository, or an output a make target
  builds), ``make`` targets are the Makefile's, ``python -m`` modules and ``samsara-fmc`` subcommands
  exist, and the sandbox's flags are flags it takes.
* ```text is output and ```json / ```yaml are data: not run. A fence without a language fails.

Also: the README lists every make target, and its sandbox figures are docs/sandbox.md's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.sandbox import TOKEN, SandboxProcess, sandbox_binary, start_sandbox

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LANGUAGES = {"python", "sh", "text", "json", "yaml"}

GIVEN = {
    "docs/matching.md": (
        "import json, os, urllib.request\n"
        "import samsara_fmc as sf\n"
        "samsara_vehicles = list(sf.Client.from_env().vehicles())\n"
        "with urllib.request.urlopen(os.environ['SAMSARA_BASE_URL'] + '/fmc/v1/vehicles') as r:\n"
        "    fmc_vehicles = json.load(r)['data']\n"
    ),
}
"""Names a doc's blocks take as given (the doc says where they come from), defined before each block."""

BUILT = {"target/sandbox/samsara-sandbox": "sandbox"}
"""Paths a make target builds: a command may be one of them."""

SHELL_WORDS = {"export", "cd", "source", "."}


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    code: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line} ({self.lang})"


def blocks() -> Iterator[Block]:
    for path in DOCS:
        lines = path.read_text().splitlines()
        rel = str(path.relative_to(ROOT))
        i = 0
        while i < len(lines):
            m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
            if not m:
                i += 1
                continue
            indent, lang, start = m.group(1), m.group(2), i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            code = "\n".join(line.removeprefix(indent) for line in lines[start:end]) + "\n"
            yield Block(rel, start, lang, code)
            i = end + 1


ALL = list(blocks())


def test_every_fence_names_its_language() -> None:
    bad = [str(b) for b in ALL if b.lang not in LANGUAGES]
    assert not bad, f"fence these as one of {sorted(LANGUAGES)} (output as ```text): {bad}"


@pytest.fixture(scope="module")
def docs_sandbox() -> Iterator[SandboxProcess]:
    sb = start_sandbox(("--vehicles", "20", "--start", "2026-11-02T18:00:00Z", "--rate-limits", "off"))
    try:
        yield sb
    finally:
        sb.stop()


@pytest.mark.parametrize("block", [b for b in ALL if b.lang == "python"], ids=str)
def test_python_blocks_run(block: Block, docs_sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SAMSARA_API_TOKEN": TOKEN,
        "SAMSARA_BASE_URL": docs_sandbox.url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    code = GIVEN.get(block.doc, "") + block.code
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{block} failed:\n{block.code}\n{done.stderr}"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z0-9][a-z0-9-]*):.*?## ", text, re.M))


def commands(code: str) -> Iterator[list[str]]:
    """Each command of a shell block as words: continuation lines joined, comments and ``&`` dropped,
    ``;``/``&&``/``|`` split, leading ``NAME=value`` assignments skipped."""
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        cmd: list[str] = []
        for w in [*words, ";"]:
            if w in (";", "&&", "||", "|", "&"):
                while cmd and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", cmd[0]):
                    cmd.pop(0)
                if cmd:
                    yield cmd
                cmd = []
            else:
                cmd.append(w.rstrip("&") if w.endswith("&") and len(w) > 1 else w)


def check_command(cmd: list[str]) -> str | None:
    """Why ``cmd`` would not work from a checkout, or ``None``."""
    name, args = cmd[0], cmd[1:]
    if name in SHELL_WORDS:
        return None
    if name == "make":
        unknown = [a for a in args if not a.startswith("-") and "=" not in a and a not in make_targets()]
        return f"no make target {unknown}" if unknown else None
    if name in ("python", "python3") and args[:1] == ["-m"]:
        module = args[1]
        return None if importlib.util.find_spec(module) else f"no module `{module}`"
    if name in ("python", "python3") and args:
        return None if (ROOT / args[0]).exists() else f"no file `{args[0]}`"
    if name == "samsara-fmc":
        sub = next((a for a in args if not a.startswith("-")), None)
        done = subprocess.run(
            [sys.executable, "-m", "samsara_fmc.cli", *([sub] if sub else []), "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        return None if done.returncode == 0 else f"`samsara-fmc {sub}` is no subcommand: {done.stderr}"
    if name in BUILT:
        if BUILT[name] not in make_targets():
            return f"`{name}` is built by `make {BUILT[name]}`, which is gone"
        if name == "target/sandbox/samsara-sandbox":
            flags = subprocess.run([str(sandbox_binary()), "--help"], capture_output=True, text=True).stdout
            unknown = [a for a in args if a.startswith("--") and f"  {a} " not in flags]
            return f"the sandbox takes no {unknown}" if unknown else None
        return None
    if "/" in name:
        return None if (ROOT / name).exists() else f"no file `{name}`"
    on_path = shutil.which(name) or (Path(sys.executable).parent / name).exists()
    return None if on_path else f"`{name}` is not installed"


def cheap(cmd: list[str]) -> list[str] | None:
    """The command to run for a shell command that is cheap and safe against a sandbox (read-only,
    quick), else ``None``: the token check and the read-only example."""
    if cmd[:2] == ["samsara-fmc", "doctor"]:
        return [sys.executable, "-m", "samsara_fmc.cli", *cmd[1:]]
    if cmd[0] in ("python", "python3") and cmd[1:2] == ["examples/list_vehicles.py"]:
        return [sys.executable, *cmd[1:]]
    return None


@pytest.mark.parametrize("block", [b for b in ALL if b.lang == "sh"], ids=str)
def test_shell_blocks_name_what_exists(block: Block, docs_sandbox: SandboxProcess) -> None:
    problems = [f"`{' '.join(c)}`: {why}" for c in commands(block.code) if (why := check_command(c))]
    assert not problems, f"{block}: " + "; ".join(problems)
    env = {**os.environ, "SAMSARA_API_TOKEN": TOKEN, "SAMSARA_BASE_URL": docs_sandbox.url}
    for cmd in commands(block.code):
        argv = cheap(cmd)
        if argv is None:
            continue
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{block}: `{' '.join(cmd)}` failed:\n{done.stdout}\n{done.stderr}"


def test_the_shell_check_can_fail() -> None:
    assert check_command(["make", "no-such-target"]) == "no make target ['no-such-target']"
    assert check_command(["target/sandbox/samsara-sandbox", "--no-such-flag", "1"])
    assert check_command(["python", "-m", "scripts.nope"])
    assert check_command(["samsara-fmc", "launch"])
    assert check_command(["make", "wheel"]) is None


def test_the_readme_lists_every_make_target() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("`make help` lists the targets:")
    paragraph = readme[start : readme.index("\n\n", start)]
    listed = {t for t in re.findall(r"`([a-z0-9-]+)`", paragraph) if t in make_targets() or "-" in t}
    assert listed >= make_targets(), f"missing from the README: {sorted(make_targets() - listed)}"


def test_the_readmes_sandbox_figures_are_docs_sandbox_mds() -> None:
    readme = (ROOT / "README.md").read_text()
    bullet = re.search(r"^\* Sandbox \(.*?(?=^\S|\n\n)", readme, re.S | re.M)
    assert bullet, "the README's sandbox bullet moved: update this test"
    sandbox_md = (ROOT / "docs" / "sandbox.md").read_text()
    figures = re.findall(r"\d[\d,]*(?:\u2013\d[\d,]*)?(?= ?(?:[a-z-]+ )?(?:MB|pages|s\b))", bullet.group(0))
    assert figures
    missing = [f for f in figures if f not in sandbox_md]
    assert not missing, f"README figures not in docs/sandbox.md: {missing}"


def test_docs_stand_alone() -> None:
    """No doc points at files a user's clone does not have."""
    for path in DOCS:
        text = path.read_text()
        for target in re.findall(r"\]\(([^)#]+)", text):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.name} links `{target}`, which is not there"
        assert "shared/" not in text, f"{path.name} points into shared/"
        assert "§" not in text, f"{path.name} cites section numbers of a document users do not have"
