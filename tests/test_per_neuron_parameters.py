"""Per-neuron parameters (issue 19, items 3 and 4): a parameter declared in the equations and set per
neuron becomes a per-neuron constant of the integer program (a parameter port: one row of the
population's drive), counted in its state bits; a parameter equal for all neurons stays a program
constant. Expected rates come from real Brian2 (numpy target), the other side from the emulator and
Lava's Loihi2SimCfg fixed_pt; the three integer interpreters are compared bit for bit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from brian2 import NeuronGroup, mV, ms

import neuromorph  # noqa: F401 -- registers the device
from neuromorph.errors import InputError
from neuromorph.network import compare, from_brian2
from neuromorph.network.lower import lower_network, recorded_variables
from neuromorph.network.reference import Recording, run_network_brian2
from neuromorph.network.resources import resource_report
from neuromorph.quantization.compiled import CompiledProgram
from neuromorph.quantization.exact import ExactInterpreter
from neuromorph.quantization.interpreter import Interpreter
from neuromorph.quantization.quantize import QuantConfig
from neuromorph.targets import load_target

from .conftest import execute_script as execute

EXAMPLES = Path(__file__).parent / "data" / "brian2_examples"
DEVICE = "import neuromorph\nset_device('neuromorph', target='loihi2', floor=False)\n"

#: An adaptive LIF population: per-neuron membrane time constant, threshold and refractory period
#: (N neurons, ``i / N`` spreads them), a shared adaptation time constant, a constant input.
ADAPTIVE_LIF = """
from brian2 import *
N = 20
El = -70*mV
R = 100*Mohm
I0 = 0.35*nA
tauw = 100*ms
eqs = '''
dv/dt = (El - v + R*(I0 - w))/tau : volt (unless refractory)
dw/dt = -w/tauw : amp
tau : second
vt : volt
tref : second
'''
G = NeuronGroup(N, eqs, threshold='v > vt', reset='v = El; w += 0.02*nA', refractory='tref', method='exact',
                name='adaptive')
G.v = El
G.tau = '10*ms + 10*ms*i/N'
G.vt = '-50*mV + 5*mV*i/N'
G.tref = '2*ms + 3*ms*i/N'
M = SpikeMonitor(G)
run(DURATION)
"""


def adaptive_lif(duration: str, device: bool) -> str:
    """The adaptive LIF script, run for ``duration`` (Brian2 code), on the neuromorph device or not."""
    text = ADAPTIVE_LIF.replace("DURATION", duration)
    return text.replace("from brian2 import *\n", "from brian2 import *\n" + DEVICE) if device else text


def group(values: str = "i/N", n: int = 20, name: str = "lif") -> NeuronGroup:
    """A LIF group whose tau, vt and tref spread by ``values`` (``'0*i'``: all equal)."""
    eqs = ("dv/dt = (-70*mV - v + 100*Mohm*0.3*nA)/tau : volt (unless refractory)\n"
           "tau : second\nvt : volt\ntref : second")
    g = NeuronGroup(n, eqs, threshold="v > vt", reset="v = -70*mV", refractory="tref", method="exact", name=name,
                    namespace={"N": n})
    g.v = -70 * mV
    g.tau = f"10*ms + 10*ms*({values})"
    g.vt = f"-50*mV + 5*mV*({values})"
    g.tref = f"2*ms + 3*ms*({values})"
    return g


def lowered_population(g: NeuronGroup, duration=20 * ms):
    """``g`` lowered at loihi2's defaults from a Brian2 reference run of ``duration``; and the network."""
    spec = from_brian2(g, duration=duration, seed=1)
    reference = run_network_brian2(spec, codegen="numpy", record=Recording(variables=recorded_variables(spec)))
    target = load_target("loihi2")
    network = lower_network(spec, reference, target, QuantConfig.for_target(target))
    return network.populations[0], network


# -- rates against Brian2 ---------------------------------------------------------------------

@pytest.mark.slow
def test_adaptive_lif_with_per_neuron_tau_threshold_and_refractory_every_rate_within_2_hz():
    ours = execute(adaptive_lif("1*second", device=True))["M"]
    theirs = execute(adaptive_lif("1*second", device=False))["M"]
    counts, expected = np.asarray(ours.count), np.asarray(theirs.count)
    assert expected.min() > 5 and np.ptp(expected) > 10  # every neuron fires, at rates that differ
    assert np.abs(counts - expected).max() <= 2, (counts, expected)


@pytest.mark.slow
def test_if_curve_hodgkin_huxley_every_rate_within_2_hz():
    text = (EXAMPLES / "IF_curve_Hodgkin_Huxley.py").read_text()
    ours = execute(text.replace("set_device('neuromorph', target='loihi2')",
                                "set_device('neuromorph', target='loihi2', floor=False)"))["monitor"]
    plain = text.replace("import neuromorph\n", "").replace("set_device('neuromorph', target='loihi2')\n", "")
    theirs = execute(plain)["monitor"]
    counts, expected = np.asarray(ours.count), np.asarray(theirs.count)  # 1 s: spikes = Hz
    assert expected.max() > 40
    assert np.abs(counts - expected).max() <= 2, np.abs(counts - expected).max()


@pytest.mark.slow
def test_lava_runs_the_per_neuron_constants_as_the_emulator_does(brian2_numpy_target):
    report = compare(from_brian2(group(), duration=60 * ms, seed=1), target="loihi2", floor=False, backend="both")
    check = report.result.lava_check
    assert check.match and check.steps_compared == 600
    assert report.lif.rate_candidate_hz == pytest.approx(report.lif.rate_reference_hz, abs=2.0)


# -- state bits and resources ------------------------------------------------------------------

def test_per_neuron_registers_are_counted_and_a_shared_parameter_costs_nothing(brian2_numpy_target):
    varying, varying_network = lowered_population(group("i/N", name="varying"))
    shared, shared_network = lowered_population(group("0*i", name="shared"))
    parameters = [p for p in varying.neuron.program.ports if p.kind == "parameter"]
    assert {p.state for p in parameters} == {"v", "steps_since_spike"}  # coefficients, threshold; period
    assert varying.spec.per_neuron == ("tau", "vt", "tref") and shared.spec.per_neuron == ()
    assert not [p for p in shared.neuron.program.ports if p.kind == "parameter"]
    assert shared.state_bits_per_neuron == shared.neuron.register_bits
    assert varying.state_bits_per_neuron == varying.neuron.register_bits + sum(p.bits for p in parameters)
    assert varying.state_bits_per_neuron > shared.state_bits_per_neuron
    for population, network in ((varying, varying_network), (shared, shared_network)):
        report = resource_report(network, load_target("loihi2"))
        row, = report.populations
        assert row.state_bits_per_neuron == population.state_bits_per_neuron


def test_the_parameter_ports_hold_each_neurons_threshold_and_refractory_steps(brian2_numpy_target):
    population, _ = lowered_population(group())
    ports = population.neuron.program.ports
    v_frac = population.neuron.program.registers[0].frac
    threshold = next(k for k, p in enumerate(ports) if p.name == "threshold")
    steps = next(k for k, p in enumerate(ports) if p.name == "refractory steps")
    vt = -50e-3 + 5e-3 * np.arange(20) / 20
    np.testing.assert_array_equal(population.drive[threshold], np.floor(vt * 2.0**v_frac))
    np.testing.assert_array_equal(population.drive[steps], np.floor((2e-3 + 3e-3 * np.arange(20) / 20) / 1e-4 + 1e-3))
    assert ports[threshold].bits <= population.neuron.program.registers[0].bits


# -- the three interpreters ---------------------------------------------------------------------

def test_interpreter_compiled_kernel_and_exact_interpreter_agree_with_per_neuron_constants(brian2_numpy_target, rng):
    """From random registers, with the real parameter rows, then with inputs beyond every port's width (the
    parameter ports saturate and count it): equal state, spikes and overflow counts, step by step."""
    population, _ = lowered_population(group())
    neuron = population.neuron
    program, tables = neuron.program, [t.entries for t in neuron.tables]
    n, steps = population.size, 40
    registers = np.array([rng.integers(*r.value_range, n, endpoint=True) - r.offset for r in program.registers])
    wild = rng.integers(-(1 << 40), 1 << 40, size=(steps, len(program.ports), n))
    real = np.broadcast_to(population.drive, (steps, *population.drive.shape))
    for inputs in (np.ascontiguousarray(real), np.where(rng.random(wild.shape) < 0.3, wild, real)):
        compiled = CompiledProgram(program, tables, neuron.constants).run(registers, inputs, 5, record=True)
        numpy_run, exact = Interpreter(program, tables, neuron.constants), ExactInterpreter(program, tables,
                                                                                            neuron.constants)
        state, exact_state = registers, registers.tolist()
        total = np.zeros(len(program.ops), dtype=np.int64)
        for k in range(steps):
            state, spiked, counts = numpy_run.step(state, inputs[k], 5 + k)
            exact_state, exact_spiked, exact_counts = exact.step(exact_state, inputs[k].tolist(), 5 + k)
            assert state.tolist() == exact_state == compiled[1][k].tolist()
            assert spiked.tolist() == exact_spiked == compiled[2][k].tolist()
            assert counts.tolist() == list(exact_counts)
            total += counts
        np.testing.assert_array_equal(compiled[3], total)


# -- refusals at conversion time ------------------------------------------------------------------

REFUSED = {
    "rand in threshold": ("G = NeuronGroup(3, 'dv/dt = (20*mV - v)/(10*ms) : volt\\nvt : volt', "
                          "threshold='v > vt + rand()*mV', reset='v = 0*mV', name='noisy')\nG.vt = '10*mV + i*mV'\n",
                          r"NeuronGroup 'noisy': the threshold 'v > vt \+ rand\(\)\*mV' calls rand\(\)"),
    "per-neuron reset": ("G = NeuronGroup(3, 'dv/dt = (20*mV - v)/(10*ms) : volt\\nvr : volt', threshold='v > 10*mV', "
                         "reset='v = vr', name='resetting')\nG.vr = 'i*mV'\n",
                         r"NeuronGroup 'resetting': reset statement 'v = vr' uses the per-neuron parameters \['vr'\]"),
    "per-neuron gate": ("G = NeuronGroup(3, '''dv/dt = (20*mV - v + 5*mV*m)/(10*ms) : volt\n"
                        "dm/dt = (1/(1 + exp(-v/s)) - m)/(5*ms) : 1\ns : volt''', threshold='v > 10*mV', "
                        "reset='v = 0*mV', name='gated')\nG.s = '(1 + i)*mV'\n",
                        r"NeuronGroup 'gated': cannot lower 'dm/dt = .*': the per-neuron parameters \['s'\] enter "
                        "a gating variable's equation"),
    "per-neuron non-affine coefficient": (
        "G = NeuronGroup(3, 'dv/dt = (20*mV - v)/tau + v**2/(tau*100*mV) : volt\\ntau : second', "
        "threshold='v > 10*mV', reset='v = 0*mV', name='quadratic', method='euler')\nG.tau = '(1 + i)*10*ms'\n",
        r"NeuronGroup 'quadratic': cannot lower 'dv/dt = .*': the per-neuron parameters \['tau'\] enter a coefficient "
        "that is not of the form a \\+ b\\*v"),
}


@pytest.mark.parametrize("construct", sorted(REFUSED))
def test_a_refused_construct_names_the_group_and_the_construct_before_anything_runs(construct, capsys):
    code, message = REFUSED[construct]
    text = f"from brian2 import *\n{DEVICE}{code}M = SpikeMonitor(G)\nrun(10*ms, report='text')\n"
    with pytest.raises(InputError, match=message) as caught:
        execute(text)
    assert "\n" not in str(caught.value)
    assert "Brian2 reference" not in capsys.readouterr().err  # refused at conversion: no simulation started


def test_an_export_keeps_the_parameter_ports_and_runs_bit_for_bit(brian2_numpy_target, tmp_path):
    from neuromorph.network.emulator import run_network
    from neuromorph.network.export import export_network, load_export

    _, network = lowered_population(group())
    export_network(network, tmp_path / "export")
    loaded = load_export(tmp_path / "export")
    population = loaded.populations[0]
    assert population.state_bits_per_neuron == network.populations[0].state_bits_per_neuron
    np.testing.assert_array_equal(population.drive, network.populations[0].drive)
    original, again = run_network(network), run_network(loaded)
    assert original.populations["lif"].spikes.sum() > 0
    np.testing.assert_array_equal(original.populations["lif"].spikes, again.populations["lif"].spikes)
    np.testing.assert_array_equal(original.populations["lif"].states, again.populations["lif"].states)
