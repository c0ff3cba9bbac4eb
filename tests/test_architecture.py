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

# layer -> the layers it may import (itself always allowed); a layer is a package of app/ or one
# of its top-level modules; `resources` (finding the package's files) may be used by any; `runtime`
# (the garbage collector's settings of a long-running process) by the server and the audit command
ALLOWED = {
    "resources": set(),
    "runtime": set(),
    "geography": {"resources"},
    "territoriality": {"geography", "resources"},
    "contract": {"geography", "territoriality", "resources"},
    "conformance": {"geography", "territoriality", "contract", "resources"},
    "settings": {"contract", "geography", "resources"},
    "web": {"contract", "settings", "resources", "runtime"},
    "cli": {"conformance", "contract", "settings", "web", "resources", "runtime"},
    "main": {"web"},
}
# what only the HTTP layer may use: the web framework, the server, the sandbox's assets, the metrics
WEB_ONLY = ("starlette", "uvicorn", "httptools", "swagger_ui", "prometheus_client")


def layer_of(path: Path) -> str:
    relative = path.relative_to(APP)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports_of(path: Path) -> set[str]:
    return imports_in(path.read_text(encoding="utf-8"), ".".join(("app", *path.relative_to(APP).parent.parts)))


def imports_in(source: str, package: str) -> set[str]:
    """Every module named by an import of this source (a module of `package`), relative imports
    made absolute, and for `from package import name` both the package and package.name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            names.add(str(node.args[0].value))  # type: ignore[attr-defined]
    return names


def _is_dynamic_import(node: ast.Call) -> bool:
    """importlib.import_module("..."), __import__("...") or importlib.util.find_spec("...") (a package
    used without being imported) with a literal name."""
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    named = name in {"import_module", "__import__", "find_spec"}
    return named and bool(node.args) and isinstance(node.args[0], ast.Constant)


def app_layer(module: str) -> str | None:
    """The layer of an app module (None for a module outside app, or for `app` itself)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 and parts[1] in ALLOWED else None


def modules_of(layer: str) -> list[Path]:
    return sorted((APP / layer).rglob("*.py")) if (APP / layer).is_dir() else [APP / f"{layer}.py"]


def test_every_module_of_app_belongs_to_a_layer() -> None:
    layers = {layer_of(path) for path in APP.rglob("*.py")} - {"__init__"}
    assert layers <= set(ALLOWED), layers - set(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = ALLOWED[layer] | {layer}
    wrong = {
        f"{path.relative_to(APP)}: {name}"
        for path in modules_of(layer)
        for name in imports_of(path)
        if (found := app_layer(name)) is not None and found not in allowed
    }
    assert wrong == set()


@pytest.mark.parametrize("layer", sorted(set(ALLOWED) - {"web", "cli", "main"}))
def test_only_the_web_layer_imports_the_web_framework(layer: str) -> None:
    wrong = {
        f"{path.relative_to(APP)}: {name}"
        for path in modules_of(layer)
        for name in imports_of(path)
        if name.split(".")[0] in WEB_ONLY
    }
    assert wrong == set()


@pytest.mark.parametrize("layer", sorted(set(ALLOWED) - {"runtime", "web"}))
def test_only_the_runtime_and_the_server_touch_the_garbage_collector(layer: str) -> None:
    """Its settings are the process's: app/runtime.py sets them for the server and the audit command,
    app/web/work.py collects after big requests; domain and contract code leave them alone."""
    wrong = {f"{path.relative_to(APP)}: gc" for path in modules_of(layer) if "gc" in imports_of(path)}
    assert wrong == set()


def test_the_import_reader_sees_every_way_of_importing() -> None:
    """The rules above are only as good as this reader: relative, package and dynamic imports too."""
    source = (
        "from app import web\n"
        "from ..web import endpoints\n"
        "import importlib\n"
        "importlib.import_module('app.web.application')\n"
        "importlib.util.find_spec('swagger_ui')\n"
    )
    assert {"app.web", "app.web.endpoints", "app.web.application", "swagger_ui"} <= imports_in(source, "app.geography")
    assert {app_layer(name) for name in imports_in(source, "app.geography")} >= {"web"}


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
