"""Build the Lambda wheel, vendor it into each Function and zip them with ``samsara-fn bundle``.

    python scripts/bundle.py [--skip-build] [--wheel PATH] [NAME ...]

1. ``maturin build --release --zig --compatibility manylinux2014`` → ``dist/wheels/*.whl``
   (``cp311-abi3-manylinux2014_x86_64``: one wheel for the runtime's 3.12 and any later CPython).
2. ``auditwheel show`` must report the manylinux2014 tag, and no OpenSSL may be linked.
3. Each ``functions/<name>/`` is staged in ``build/functions/<name>/`` with ``lib/`` holding only
   ``samsara_fmc`` (the runtime already has boto3, requests and samsara-api), then bundled to
   ``dist/<name>.zip``. The size is printed; above 50 MB (the Functions limit) the build fails.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
DIST = ROOT / "dist"
STAGE = ROOT / "build" / "functions"
LIMIT_BYTES = 50 * 1024 * 1024
TAG = "cp311-abi3-manylinux2014_x86_64"


def run(*cmd: str | Path, capture: bool = False) -> str:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run([str(c) for c in cmd], check=True, text=True, capture_output=capture)
    return done.stdout if capture else ""


def bin_of(name: str) -> str:
    """A console script of the running interpreter's environment, else from PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def build_wheel() -> Path:
    out = DIST / "wheels"
    for old in out.glob("samsara_fmc-*.whl"):
        old.unlink()
    run(
        bin_of("maturin"),
        "build",
        "--release",
        "--zig",
        "--compatibility",
        "manylinux2014",
        "--target",
        "x86_64-unknown-linux-gnu",
        "--out",
        out,
        "--manifest-path",
        ROOT / "Cargo.toml",
    )
    return find_wheel(out)


def find_wheel(folder: Path) -> Path:
    wheels = sorted(folder.glob(f"samsara_fmc-*-{TAG}*.whl"))
    if not wheels:
        raise SystemExit(
            f"no `{TAG}` wheel in {folder}: build with `maturin build --zig --compatibility manylinux2014`"
        )
    return wheels[-1]


def check_wheel(wheel: Path) -> None:
    report = run(bin_of("auditwheel"), "show", wheel, capture=True)
    print(report.strip())
    if "manylinux_2_17_x86_64" not in report and "manylinux2014_x86_64" not in report:
        raise SystemExit(
            f"{wheel.name} is not manylinux2014 (glibc 2.17) compatible; it cannot run in Functions"
        )
    with zipfile.ZipFile(wheel) as z:
        blob = b"".join(z.read(n) for n in z.namelist() if n.endswith(".so"))
    if b"libssl.so" in blob or b"libcrypto.so" in blob:
        raise SystemExit(f"{wheel.name} links OpenSSL; the core must use rustls")


def stage(name: str, wheel: Path) -> Path:
    src = FUNCTIONS / name
    dst = STAGE / name
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "lib", "*.pyc", ".samsara-fn"))
    lib = dst / "lib"
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if member.startswith("samsara_fmc/"):
                z.extract(member, lib)
    if not (lib / "samsara_fmc" / "_core.abi3.so").exists():
        raise SystemExit("the wheel has no samsara_fmc/_core.abi3.so")
    return dst


def bundle(name: str, staged: Path) -> Path:
    DIST.mkdir(exist_ok=True)
    run(bin_of("samsara-fn"), "bundle", staged, DIST, "--zip-name", f"{name}.zip")
    zip_path = DIST / f"{name}.zip"
    size = zip_path.stat().st_size
    print(f"{zip_path.relative_to(ROOT)}: {size / 1024 / 1024:.2f} MB (limit 50 MB)")
    if size > LIMIT_BYTES:
        raise SystemExit(f"{zip_path.name} is {size} bytes, over the 50 MB Functions limit")
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
    for needed in (
        "function.py",
        "function.json",
        "lib/samsara_fmc/__init__.py",
        "lib/samsara_fmc/_core.abi3.so",
    ):
        if needed not in names:
            raise SystemExit(f"{zip_path.name} lacks `{needed}`")
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="functions to bundle (default: all)")
    parser.add_argument("--skip-build", action="store_true", help="reuse the wheel in dist/wheels")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.parent.name for p in FUNCTIONS.glob("*/function.json"))
    wheel = find_wheel(DIST / "wheels") if args.skip_build else build_wheel()
    check_wheel(wheel)
    for name in names:
        bundle(name, stage(name, wheel))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
