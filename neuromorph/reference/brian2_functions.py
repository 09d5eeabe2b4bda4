"""Membrane-physics functions usable inside Brian2 equations (numpy code generation).

``ghk_current(P, z, v, c_in, c_out, T)`` and
``woodhull_unblocked_fraction(v, B, K_d0, z_blocker, delta, T)``: Brian2 checks the units of
their arguments when it generates code; at run time the values (SI, without units) go to
their numpy implementations. Both come from the one registry of model functions,
:mod:`neuromorph.model.functions`, which also holds the implementations the lowering's
tables and the float kernels use.

Brian2 2.9 runs a function without a numpy implementation of its own (its ``exprel``,
``expm1``, ``log1p``) in a wrapper that checks the units of the result at every call, and
builds the text of the error message, the whole result array printed, before checking it:
20 of the 25 s of a 20,000-step squid reference on the numpy target. The units were checked
when the code was generated, so :func:`numpy_functions_without_unit_checks` sets Brian2's own
preference ``codegen.runtime.numpy.discard_units`` while neuromorph runs Brian2: Brian2 then
gives such a function the same code without the wrapper (the same numbers).
"""
from __future__ import annotations

from contextlib import contextmanager

import brian2

from ..model.functions import ADDED_TO_BRIAN2, brian2_function

DISCARD_UNITS = "codegen.runtime.numpy.discard_units"


@contextmanager
def numpy_functions_without_unit_checks():
    """Set Brian2's ``codegen.runtime.numpy.discard_units`` for the block, and restore it after.

    Brian2 reads the preference when a numpy code object first uses a function that has no
    numpy implementation, and keeps the implementation it made for the rest of the process:
    a function a numpy run used earlier without the preference keeps its unit checks (slower,
    the same numbers).
    """
    before = brian2.prefs[DISCARD_UNITS]
    brian2.prefs[DISCARD_UNITS] = True
    try:
        yield
    finally:
        brian2.prefs[DISCARD_UNITS] = before


#: The functions neuromorph adds to the namespace of every Brian2 model (one object each per process).
BRIAN2_FUNCTIONS = {name: brian2_function(name) for name in ADDED_TO_BRIAN2}
