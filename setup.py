"""Build step: built distributions carry the repository's geodata/ and openapi.yaml inside the package.

The repository keeps them at its top; a wheel puts them in app/_data/, where app/resources.py finds
them through the package. Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLE = Path("app", "_data")  # app/resources.py reads it
TOP_LEVEL_DATA = ("geodata", "openapi.yaml")  # the whole geodata/ folder, whatever its files


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout in place
        target = Path(self.build_lib) / BUNDLE
        shutil.rmtree(target, ignore_errors=True)  # no file left over from an earlier build
        for name in TOP_LEVEL_DATA:
            if Path(name).is_dir():
                self.copy_tree(name, str(target / name))
            else:
                self.mkpath(str(target))
                self.copy_file(name, str(target / name))


setup(cmdclass={"build_py": BuildPyWithData})
