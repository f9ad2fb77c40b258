"""`chalice package` for the Lambda runtime the template pins, whatever Python runs it.

Chalice names the runtime after the interpreter that packages (3.11 here) and downloads the
dependencies' wheels for that interpreter. The runtime is declared once, on the functions in
infra/resources.yaml; this builds the bundle's wheels (pydantic-core, cryptography) for it too, so
the template's runtime and the bundle's binaries always match.

    python infra/package.py STAGE OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "infra" / "resources.yaml"


def pinned_runtime(path: Path = RESOURCES) -> str:
    """The one runtime every function of the template declares."""
    resources = yaml.safe_load(path.read_text())["Resources"]
    runtimes = {name: res.get("Properties", {}).get("Runtime") for name, res in resources.items()
                if "Type" not in res and "Environment" in res.get("Properties", {})}
    found = set(runtimes.values())
    if len(found) != 1 or None in found:
        raise SystemExit(f"every function in {path.name} must pin the same Runtime; found {runtimes}")
    return found.pop()


def _wheels_for(runtime: str) -> None:
    """Chalice asks pip for the runtime's ABI but not its Python version, so pip (judging by the
    interpreter running it) finds no cp312 wheel from a 3.11 interpreter; say the version too."""
    from chalice.deploy.packager import PipRunner

    version = runtime.removeprefix("python")

    def download_manylinux_wheels(self: PipRunner, abi: str, packages: list[str], directory: str,
                                  platforms: list[str] | None = None) -> None:
        for package in packages:
            arguments = ["--only-binary=:all:", "--no-deps", "--python-version", version,
                         "--implementation", "cp", "--abi", abi, "--dest", directory, package]
            for platform in platforms or ["manylinux2014_x86_64"]:
                arguments[2:2] = ["--platform", platform]
            self._execute("download", arguments)

    PipRunner.download_manylinux_wheels = download_manylinux_wheels  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    stage, out = argv
    from chalice.cli import main as chalice_main
    from chalice.config import Config

    runtime = pinned_runtime()
    Config.lambda_python_version = property(lambda self: runtime)  # type: ignore[assignment,method-assign]
    _wheels_for(runtime)
    sys.argv = ["chalice", "--project-dir", str(ROOT), "package", "--stage", stage,
                "--merge-template", str(RESOURCES), out]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
