"""Brian2's numpy target without run-time unit checks in functions gives the same numbers.

neuromorph runs Brian2 with ``codegen.runtime.numpy.discard_units`` (see
:mod:`neuromorph.reference.brian2_functions`): ``exprel`` then runs without Brian2's
unit-checking wrapper. Brian2 keeps the implementation it made first for the whole process,
so each variant runs in a fresh interpreter; the voltages must be equal bit for bit.
"""
import subprocess
import sys

import numpy as np

from .conftest import EXAMPLES

RUN = """
import sys
from contextlib import nullcontext

import numpy as np
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject
from brian2.core.functions import DEFAULT_FUNCTIONS

from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.model.model_file import load_model
from neuromorph.network import reference
from neuromorph.network.model_network import run_model_brian2

model_path, variant, out = sys.argv[1:]
if variant == "with-checks":  # Brian2 as it comes
    reference.numpy_functions_without_unit_checks = nullcontext
model = load_model(model_path)
stimulus = sample_stimulus(model.stimulus, model.simulation)[:3000, :3]
trace = run_model_brian2(model, stimulus, codegen="numpy")
exprel = DEFAULT_FUNCTIONS["exprel"].implementations[NumpyCodeObject].get_code(None)
np.savez(out, v=trace.v, spikes=np.concatenate(trace.spike_trains), exprel=exprel.__name__)
"""


def run_variant(tmp_path, variant: str) -> dict:
    out = tmp_path / f"{variant}.npz"
    subprocess.run([sys.executable, "-c", RUN, str(EXAMPLES / "squid_hh.toml"), variant, str(out)], check=True,
                   capture_output=True, text=True, timeout=300)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


def test_exprel_without_unit_checks_gives_brian2s_numbers_bit_for_bit(tmp_path):
    checked, unchecked = run_variant(tmp_path, "with-checks"), run_variant(tmp_path, "without-checks")
    assert str(checked["exprel"]) == "wrapper_function" and str(unchecked["exprel"]) == "exprel"
    assert checked["spikes"].size > 0
    np.testing.assert_array_equal(unchecked["v"], checked["v"])
    np.testing.assert_array_equal(unchecked["spikes"], checked["spikes"])
