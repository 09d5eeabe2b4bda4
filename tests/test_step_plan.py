"""The step plan (Brian2's order, built once) and the registry of model functions."""
import math

import numpy as np
import pytest

from neuromorph.biophysics.constants import thermal_voltage
from neuromorph.errors import ConfigError, LoweringError, ModelFileError
from neuromorph.model.from_brian2 import spec_from_equations
from neuromorph.model.functions import ADDED_TO_BRIAN2, MODEL_FUNCTIONS, brian2_function
from neuromorph.quantization.float_codegen import CODE_PHASES
from neuromorph.quantization.kernel import FLOAT_PHASES, FloatKernel
from neuromorph.quantization.lowering import INTEGER_PHASES
from neuromorph.quantization.step_plan import (Commit, GateUpdate, RefractoryEnd, RefractoryStart, Reset, StateUpdate,
                                               SynapticIncrement, Threshold, step_plan)

from .conftest import SQUID_EQUATIONS, SQUID_PARAMETERS_SI

SYNAPTIC = SQUID_EQUATIONS.replace(
    "dv/dt = (I_inj - I_Na - I_K - I_L) / C_m : volt",
    "dv/dt = (I_inj - I_Na - I_K - I_L - g_e * v) / C_m : volt (unless refractory)\n"
    "dg_e/dt = -g_e / (5*ms) : siemens/meter**2")


def spec(equations=SQUID_EQUATIONS, **kwargs):
    options = dict(name="squid", parameters=SQUID_PARAMETERS_SI, input_name="I_inj", threshold="v > -20*mV",
                   refractory="v > -20*mV", source="test.toml")
    return spec_from_equations(equations, **(options | kwargs))


def kinds(plan):
    return [type(phase) for phase in plan.phases]


def test_squid_step_follows_brian2s_order():
    plan = step_plan(spec(), 1e-5, "exponential_euler")
    assert kinds(plan) == [RefractoryStart, GateUpdate, GateUpdate, GateUpdate, StateUpdate, Commit, Threshold, Reset,
                           RefractoryEnd]
    assert [p.gate.name for p in plan.phases if isinstance(p, GateUpdate)] == ["m", "h", "n"]
    update = plan.phases[4]
    assert update.equation.name == "v" and update.exponential and [i.name for _, i in update.drives] == ["I_inj"]
    assert plan.phases[0].condition.text == "v > -20*mV" and plan.phases[0].steps is None
    assert plan.phases[-3].refractory and plan.states == ("v", "m", "h", "n")


def test_no_refractoriness_no_refractory_phases_and_nothing_held():
    plan = step_plan(spec(SYNAPTIC, refractory=None), 1e-5, "euler")
    assert RefractoryStart not in kinds(plan) and RefractoryEnd not in kinds(plan)
    commit = next(p for p in plan.phases if isinstance(p, Commit))
    threshold = next(p for p in plan.phases if isinstance(p, Threshold))
    assert commit.held == frozenset() and not threshold.refractory
    assert not any(p.exponential for p in plan.phases if isinstance(p, StateUpdate))


def test_increments_come_first_with_ports_after_the_drives_and_only_into_linear_states():
    plan = step_plan(spec(SYNAPTIC, refractory="2*ms"), 1e-5, "exponential_euler", ("g_e", "v"))
    assert plan.phases[:3] == (SynapticIncrement("g_e", 1, False), SynapticIncrement("v", 2, True),
                               RefractoryStart(condition=None, steps=200))
    assert next(p for p in plan.phases if isinstance(p, Commit)).held == frozenset({"v"})
    with pytest.raises(LoweringError, match="not 'm'"):
        step_plan(spec(SYNAPTIC), 1e-5, "euler", ("m",))


def test_without_a_threshold_the_step_never_spikes_and_has_no_refractoriness():
    """Brian2: a group without a threshold has no spike event, so it never spikes, is never refractory
    (its ``lastspike`` stays in the past) and refuses a reset (that needs the spike event)."""
    silent = spec(SYNAPTIC, threshold=None, refractory="2*ms")
    assert silent.threshold is None and silent.refractory is None and silent.summary()["threshold"] is None
    plan = step_plan(silent, 1e-5, "exponential_euler", ("g_e",))
    assert kinds(plan) == [SynapticIncrement, GateUpdate, GateUpdate, GateUpdate, StateUpdate, StateUpdate, Commit,
                           Threshold, Reset]
    assert plan.phases[-2] == Threshold(condition=None, refractory=False) and plan.phases[-1] == Reset(())
    with pytest.raises(ModelFileError, match="reset 'v = -65[*]mV' needs a threshold"):
        spec(threshold=None, reset="v = -65*mV")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_without_a_threshold_the_float_kernel_crosses_the_threshold_without_spiking(backend):
    """The same squid neuron with and without ``v > -20*mV``: the voltage peaks above -20 mV alike
    (an action potential), but only the one with a threshold spikes."""
    initial = {"v": -0.065, "m": 0.05, "h": 0.6, "n": 0.32}
    drive = np.full((2000, 1), 0.1)  # 10 uA/cm**2 (SI: A/m**2) for 20 ms
    runs = {}
    for threshold in ("v > -20*mV", None):
        kernel = FloatKernel(spec(threshold=threshold, refractory=None), 1e-5, initial, backend=backend)
        _, states, spikes, _ = kernel.run(kernel.initial_state(1), drive)
        runs[threshold] = states[:, 0, 0], spikes[:, 0]
    (v_spiking, spiking), (v_silent, silent) = runs["v > -20*mV"], runs[None]
    assert spiking.sum() >= 2 and not silent.any()
    np.testing.assert_array_equal(v_silent, v_spiking)  # no reset, refractoriness: the threshold only flags
    assert v_silent.max() > 0.0


def test_an_unknown_method_is_refused():
    with pytest.raises(ConfigError, match="rk4"):
        step_plan(spec(), 1e-5, "rk4")


def test_every_backend_runs_every_phase_of_a_single_neuron():
    phases = {RefractoryStart, GateUpdate, StateUpdate, Commit, Threshold, Reset, RefractoryEnd}
    assert set(INTEGER_PHASES) == phases | {SynapticIncrement}
    assert set(FLOAT_PHASES) == phases and set(CODE_PHASES) == phases


# -- the registry of model functions ----------------------------------------------------------
ARGUMENTS = {
    "exprel": [(x,) for x in (-30.0, -1.0, -1e-10, 0.0, 3e-10, 0.5, 20.0)],
    "ghk_current": [(2e-8, z, v, 10.0, 140.0, 300.0) for z in (1, 2, -1) for v in (-0.09, -1e-9, 0.0, 0.04)],
    "woodhull_unblocked_fraction": [(v, 2.0, 2.0, 2, 0.5, 300.0) for v in (-0.1, 0.0, 0.05)],
}


@pytest.mark.parametrize("name", sorted(MODEL_FUNCTIONS))
def test_scalar_implementation_equals_the_numpy_one(name):
    """The scalar code is what the compiled float kernel runs; the numpy one what tables and Brian2 use."""
    entry = MODEL_FUNCTIONS[name]
    for args in ARGUMENTS[name]:
        assert entry.scalar(*args) == pytest.approx(float(entry.numpy(*args)), rel=1e-13, abs=1e-300)


def test_model_functions_against_closed_forms():
    exprel = MODEL_FUNCTIONS["exprel"]
    assert exprel.numpy(0.0) == 1.0 and exprel.scalar(0.0) == 1.0
    assert float(exprel.numpy(1.0)) == pytest.approx(math.e - 1, rel=1e-15)
    ghk = MODEL_FUNCTIONS["ghk_current"].numpy
    nernst = thermal_voltage(300.0) * math.log(140.0 / 10.0)  # potassium-like ion, z = +1
    assert abs(float(ghk(2e-8, 1, nernst, 10.0, 140.0, 300.0))) < 1e-15
    block = MODEL_FUNCTIONS["woodhull_unblocked_fraction"].numpy
    assert float(block(0.0, 2.0, 2.0, 2, 0.5, 300.0)) == pytest.approx(0.5)


def test_brian2_functions_check_units_and_are_one_object_each():
    import brian2

    assert set(ADDED_TO_BRIAN2) == {"ghk_current", "woodhull_unblocked_fraction"}
    assert brian2_function("ghk_current") is brian2_function("ghk_current")
    from brian2.core.functions import DEFAULT_FUNCTIONS
    assert brian2_function("exprel") is DEFAULT_FUNCTIONS["exprel"]
    ghk = brian2_function("ghk_current")
    current = ghk(2e-8 * brian2.meter / brian2.second, 1, -65 * brian2.mV, 10 * brian2.mM, 140 * brian2.mM,
                  300 * brian2.kelvin)
    assert current.dim == (brian2.amp / brian2.meter**2).dim
    # the textbook GHK current (Hille), with CODATA's F and R (scipy), not the function Brian2's wraps:
    # P z^2 F^2 V / (R T) (c_in - c_out e^(-zFV/RT)) / (1 - e^(-zFV/RT)), outward positive
    from scipy.constants import N_A, e, k

    F, R, u = e * N_A, k * N_A, (e * N_A) * -0.065 / (k * N_A * 300.0)
    textbook = 2e-8 * F * u * (10.0 - 140.0 * math.exp(-u)) / (1.0 - math.exp(-u))
    assert textbook < 0  # inward: K-like ion at -65 mV, below its reversal potential
    assert float(current) == pytest.approx(textbook, rel=1e-9)
    assert np.isfinite(float(brian2_function("woodhull_unblocked_fraction")(
        -70 * brian2.mV, 2 * brian2.mM, 2 * brian2.mM, 2, 0.5, 300 * brian2.kelvin)))


@pytest.mark.parametrize("voltage, error", [("v", None), ("c", "DimensionMismatchError")])
def test_brian2_checks_the_units_of_a_model_function_when_it_generates_code(voltage, error):
    import brian2

    namespace = {"ghk_current": brian2_function("ghk_current"), "P": 2e-8 * brian2.meter / brian2.second,
                 "c": 10 * brian2.mM, "T": 300 * brian2.kelvin}
    group = brian2.NeuronGroup(1, f"v : volt\nI = ghk_current(P, 1, {voltage}, c, 14*c, T) : amp/meter**2",
                               namespace=namespace, codeobj_class=brian2.NumpyCodeObject)
    monitor = brian2.StateMonitor(group, "I", record=0)
    network = brian2.Network(group, monitor)
    if error is None:
        network.run(brian2.defaultclock.dt)
        # at V = 0 (v starts at 0) the GHK current's limit is P z F (c_in - c_out), CODATA's F (scipy)
        from scipy.constants import N_A, e
        assert float(monitor.I[0][0]) == pytest.approx(2e-8 * e * N_A * (10.0 - 140.0), rel=1e-9)
        return
    with pytest.raises(Exception) as info:
        network.run(brian2.defaultclock.dt)
    assert error in repr(info.value) + repr(info.value.__cause__)
