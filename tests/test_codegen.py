"""The one rule choosing Brian2's code-generation target (``neuromorph.reference.codegen``).

Whether Cython compiles is set by the test (``CythonCodeObject.is_available`` patched), so
the rule's decisions are checked on every machine, with and without a compiler.
"""
import pytest
from brian2.codegen.runtime.cython_rt import CythonCodeObject

from neuromorph.reference.codegen import CYTHON_MIN_STEPS, choose_codegen

PLAIN = "dv/dt = -v / (10*ms) : volt"
GHK = "dv/dt = ghk_current(v, 1, 2, 3) / (1*farad) : volt"


@pytest.fixture(params=[True, False], ids=["compiler", "no compiler"])
def compiler(request, monkeypatch):
    monkeypatch.setattr(CythonCodeObject, "is_available", staticmethod(lambda: request.param))
    return request.param


def test_short_runs_use_numpy_long_runs_cython_when_it_compiles(compiler):
    """Cython pays off only once its compilation (seconds per code object) is repaid."""
    fast = "cython" if compiler else "numpy"
    assert choose_codegen(CYTHON_MIN_STEPS - 1, [PLAIN]) == "numpy"
    assert choose_codegen(CYTHON_MIN_STEPS, [PLAIN]) == fast
    assert choose_codegen(None) == fast  # length unknown: taken as long


def test_numpy_only_functions_never_get_cython(compiler):
    assert choose_codegen(CYTHON_MIN_STEPS, [PLAIN, GHK]) == "numpy"
    assert choose_codegen(requested="cython", equations=[GHK]) == "numpy"
    assert choose_codegen(10, [GHK], short_run="cython") == "numpy"


def test_a_request_wins_when_it_can_run(compiler):
    assert choose_codegen(10 * CYTHON_MIN_STEPS, [PLAIN], requested="numpy") == "numpy"
    assert choose_codegen(10, [PLAIN], requested="cython") == ("cython" if compiler else "numpy")


def test_short_runs_keep_the_model_files_target_for_searches(compiler):
    """``tune``, ``sweep`` and ``lower`` keep the model file's own target below the threshold."""
    assert choose_codegen(10, [PLAIN], short_run="cython") == ("cython" if compiler else "numpy")
    assert choose_codegen(10, [PLAIN], short_run="numpy") == "numpy"
