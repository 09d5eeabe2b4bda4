"""The one rule choosing Brian2's code-generation target for a reference run.

Brian2 generates code for a target: ``numpy`` (Python loops over arrays, no compiler) or
``cython`` (compiled once per code object, then cached). Every Brian2 run neuromorph starts
(``compare``, ``lower``, ``tune``, ``sweep``, ``network``, ``export``, the Python API) picks
its target with :func:`choose_codegen`; a ``--codegen`` option is its ``requested``
argument. Cython is chosen only when it can run:

- a C compiler works here (``CythonCodeObject.is_available()``), and
- no equation calls one of neuromorph's membrane functions (``ghk_current``,
  ``woodhull_unblocked_fraction``): they are implemented for numpy only
  (:data:`~neuromorph.reference.brian2_functions.BRIAN2_FUNCTIONS`).
"""
from __future__ import annotations

import re
from typing import Iterable

from brian2.codegen.runtime.cython_rt import CythonCodeObject
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

from .brian2_functions import BRIAN2_FUNCTIONS

#: Brian2 code-object class of each target neuromorph runs (``--codegen`` choices).
CODE_OBJECTS = {"numpy": NumpyCodeObject, "cython": CythonCodeObject}

#: Fewest time steps for which neuromorph picks Brian2's Cython target by default. Below it
#: Brian2's numpy target (0.2 ms of Python per step for squid HH, 2-4 ms for the example
#: networks) finishes about when Cython has compiled code it has not seen before (3-5 s per
#: code object on the 2-core development machine, 20 s for squid HH, 40-90 s for a network);
#: above it the compiled code wins, and it is cached for every later run (tune and sweep
#: repeat their references).
CYTHON_MIN_STEPS = 20_000


def cython_can_run(equations: Iterable[str] = ()) -> bool:
    """Whether Brian2's Cython target can run equations ``equations`` here.

    Parameters
    ----------
    equations : iterable of str
        Brian2 equation texts of every group of the run.

    Returns
    -------
    bool
        True when Cython compiles on this machine and no equation calls a numpy-only
        function of :data:`~neuromorph.reference.brian2_functions.BRIAN2_FUNCTIONS`.
    """
    calls = re.compile(r"\b(?:" + "|".join(map(re.escape, BRIAN2_FUNCTIONS)) + r")\s*\(")
    if any(calls.search(text) for text in equations):
        return False
    return CythonCodeObject.is_available()


def choose_codegen(n_steps: int | None = None, equations: Iterable[str] = (), *, requested: str | None = None,
                   short_run: str = "numpy") -> str:
    """Brian2's code-generation target for a run of ``n_steps`` steps of ``equations``.

    In order:

    1. ``requested`` (a ``--codegen`` option, or a model file's ``codegen`` when the command
       honours it as given) when it can run, else ``"numpy"``;
    2. ``"cython"`` for a run long enough to repay compiling (``n_steps`` at least
       :data:`CYTHON_MIN_STEPS`, or unknown) when Cython can run (:func:`cython_can_run`);
    3. ``short_run`` when it can run, else ``"numpy"``.

    Parameters
    ----------
    n_steps : int, optional
        Time steps of the run; None when unknown (then the run is taken to be long).
    equations : iterable of str
        Brian2 equation texts of the run (every population's), for the numpy-only functions.
    requested : {"numpy", "cython"}, optional
        A target asked for explicitly.
    short_run : {"numpy", "cython"}
        The target of a run too short for Cython to repay compiling: ``"numpy"`` (network
        runs), or the model file's own ``codegen`` (``tune``, ``sweep`` and ``lower`` keep the
        file's choice for short runs).

    Returns
    -------
    str
        A key of :data:`CODE_OBJECTS` (an unknown ``requested`` name is returned unchanged,
        for the caller's own check to refuse).
    """
    equations = tuple(equations)

    def runnable(target: str) -> str:
        return "numpy" if target == "cython" and not cython_can_run(equations) else target

    if requested:
        return runnable(requested)
    if (n_steps is None or n_steps >= CYTHON_MIN_STEPS) and cython_can_run(equations):
        return "cython"
    return runnable(short_run)
