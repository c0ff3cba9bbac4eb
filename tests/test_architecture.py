"""The layers depend one way: geography <- territoriality <- contract <- web and the command line.

Checked on the source (every import statement, at any depth), and on a real run: the auditor's
commands never load Starlette.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from app.conformance.synthetic import write_jsonl
from tests.live_server import LiveServer

APP = Path(__file__).resolve().parents[1] / "app"

# package -> the app packages it may import (itself always allowed); app.resources, which finds the
# package's files, sits below them all
ALLOWED = {
    "geography": {"resources"},
    "territoriality": {"resources", "geography"},
    "contract": {"resources", "geography", "territoriality"},
    "conformance": {"resources", "geography", "territoriality", "contract"},
    "web": {"resources", "geography", "territoriality", "contract", "settings"},
}
WEB_ONLY = ("starlette", "uvicorn")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((APP / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(package: str) -> None:
    allowed = ALLOWED[package] | {package}
    wrong = {
        f"{path.relative_to(APP)}: {name}"
        for path in modules_of(package)
        for name in imports_of(path)
        if name.startswith("app.") and name.split(".")[1] not in allowed
    }
    assert wrong == set()


@pytest.mark.parametrize("package", ["geography", "territoriality", "contract", "conformance"])
def test_only_the_web_layer_imports_the_web_framework(package: str) -> None:
    wrong = {
        f"{path.relative_to(APP)}: {name}"
        for path in modules_of(package)
        for name in imports_of(path)
        if name.split(".")[0] in WEB_ONLY
    }
    assert wrong == set()


def test_the_audit_command_loads_no_web_framework(tmp_path: Path) -> None:
    sessions = write_jsonl(tmp_path / "sessions.jsonl", 20)
    script = (
        "import sys; import app.cli; "
        f"code = app.cli.main(['audit', {str(sessions)!r}, '--report', {str(tmp_path / 'report')!r}]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'uvicorn'}), code)"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.splitlines()[-1] == "[] 1"  # 1: the synthetic sessions include non-compliant ones
    assert (tmp_path / "report" / "summary.json").is_file()


def test_the_conformance_command_loads_no_web_framework(server: LiveServer) -> None:
    script = (
        "import sys; import app.cli; "
        f"code = app.cli.main(['conformance', '--base-url', {server.base_url!r}]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'uvicorn'}), code)"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.splitlines()[-1] == "[] 0"
