"""The files the package reads, found through the package itself (`importlib.resources`).

Files that live inside a package (rulings.yaml, the conformance cases, the sandbox's page and
script) are read where the package is. The repository keeps geodata/ and openapi.yaml at its top;
built distributions (wheel, sdist) carry them inside the package as app/_data/ (setup.py's build
step), and that is where an installed package reads them, wherever it is installed. A source tree
(a checkout, or the Docker image's /srv, which runs app/ uninstalled) has no app/_data: there, and
only there, they are read where the repository keeps them, beside app/.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

BUNDLE = "_data"  # the folder of app/ that setup.py fills in built distributions


class MissingResourceError(FileNotFoundError):
    """A file the package needs is not where it should be: a broken installation."""


def package_file(package: str, name: str) -> Path:
    """A file or folder shipped inside one of the app's packages, e.g. ("app.territoriality", "rulings.yaml")."""
    return _on_disk(files(package) / name)


def data_path(name: str) -> Path:
    """geodata/ or openapi.yaml: inside the package when installed, beside app/ in a source tree."""
    package = files("app")
    bundled = package / BUNDLE / name
    if bundled.is_file() or bundled.is_dir():
        return _on_disk(bundled)
    source_tree = _on_disk(package).parent / name
    if source_tree.exists():
        return source_tree
    raise MissingResourceError(
        f"territorialite's {name} is missing: neither in the installed package ({bundled}) "
        f"nor beside app/ in a source tree ({source_tree}); reinstall the package"
    )


def _on_disk(resource: Traversable) -> Path:
    if not isinstance(resource, Path):
        raise MissingResourceError(f"{resource} is not a file on disk: territorialite must be installed unzipped")
    return resource
