"""The shipped hardware targets, installed as the package data of ``neuromorph.hw_targets``.

This directory is the one copy of the target files; ``setup.py`` maps the subpackage
``neuromorph.hw_targets`` onto it, so a wheel carries them and
:func:`neuromorph.targets.targets_dir` finds them through :mod:`importlib.resources`.
The keys are documented in ``README.md`` beside this file.
"""
