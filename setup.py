"""Package layout: everything else is declared in ``pyproject.toml``.

The hardware targets live in the top-level ``hw_targets/`` directory (their one copy) and
are installed as the subpackage ``neuromorph.hw_targets``. ``pyproject.toml`` can either
discover packages or list them with a ``package-dir`` mapping, not both; this file
discovers ``neuromorph`` and its subpackages and adds the one mapped subpackage, so a new
subpackage needs no edit here.
"""
from setuptools import find_packages, setup

#: The subpackage holding the shipped target files, and the directory it is built from.
TARGETS_PACKAGE, TARGETS_SOURCE = "neuromorph.hw_targets", "hw_targets"

setup(
    packages=[*find_packages(include=["neuromorph", "neuromorph.*"]), TARGETS_PACKAGE],
    package_dir={TARGETS_PACKAGE: TARGETS_SOURCE},
    package_data={TARGETS_PACKAGE: ["*.toml", "README.md"]},
)
