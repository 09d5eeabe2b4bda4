"""from_brian2 on scripts written as Brian2's documentation writes them, checked against the Brian2 objects.

Each script builds its objects exactly as Brian2's CUBA example and synapse tutorial do;
the lines marked ``# added`` are the whole conversion (import, call, use).
"""
import brian2
import numpy as np
import pytest
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, PoissonInput, SpatialNeuron, SpikeGeneratorGroup,
                    SpikeMonitor, StateMonitor, Synapses, TimedArray, collect, mV, ms, nS, second, um)
from brian2 import pF  # noqa: F401 -- used inside an equation string, resolved from the test's namespace
from brian2.spatialneuron.morphology import Soma

from neuromorph.errors import InputError
from neuromorph.network import from_brian2


@pytest.fixture(autouse=True)
def numpy_target(brian2_numpy_target):
    """Brian2's numpy target for code run while building (conftest.brian2_numpy_target); test_network_file
    and test_network_reference import this fixture to have it too."""
    yield


def cuba_script(duration=40 * ms, run=False):
    """Brian2's CUBA example (40 neurons) plus a SpikeGeneratorGroup cue into a subgroup, as the docs write it.

    With ``run``, the script then runs its own network (after the export, in its own frame).
    """
    taum = 20*ms
    taue = 5*ms
    taui = 10*ms
    Vt = -50*mV
    Vr = -60*mV
    El = -49*mV
    eqs = '''
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    '''
    P = NeuronGroup(40, eqs, threshold='v>Vt', reset='v = Vr', refractory=5*ms, method='exact')
    P.v = 'Vr + rand() * (Vt - Vr)'
    P.ge = 0*mV
    P.gi = 0*mV
    we = (60*0.27/10)*mV  # excitatory synaptic weight (voltage)
    wi = (-20*4.5/10)*mV  # inhibitory synaptic weight
    Ce = Synapses(P[:32], P, on_pre='ge += we', delay=2*ms)
    Ci = Synapses(P[32:], P, on_pre='gi += wi')
    Ce.connect(p=0.2)
    Ci.connect(p=0.2)
    Ci.delay = '0.5*ms + rand()*2*ms'
    cue = SpikeGeneratorGroup(3, [0, 1, 2, 0], [2, 4, 6, 8]*ms)
    Cc = Synapses(cue, P[5:15], 'w : 1', on_pre='v_post += w*mV')
    Cc.connect(p=0.7)
    Cc.w = '2 + 3*rand()'
    Cc.delay = '1*ms + rand()*3*ms'
    spikes = SpikeMonitor(P)
    voltage = StateMonitor(P, 'v', record=True)
    net = Network(collect())
    spec = from_brian2(net, duration=duration)  # added
    if run:
        net.run(duration)
    return spec, dict(net=net, P=P, Ce=Ce, Ci=Ci, Cc=Cc, cue=cue, spikes=spikes, voltage=voltage, we=we, wi=wi,
                      taum=taum, El=El, Vt=Vt, Vr=Vr, taue=taue)


def projection(spec, synapses):
    return {p.name: p for p in spec.projections}[synapses.name]


def test_connectivity_weights_and_delays_match_the_brian2_objects():
    spec, b = cuba_script()
    P = b["P"]
    ce, ci, cc = projection(spec, b["Ce"]), projection(spec, b["Ci"]), projection(spec, b["Cc"])
    assert (ce.source, ce.target, ce.target_variable, ce.operation) == (P.name, P.name, "ge", "+=")
    np.testing.assert_array_equal(ce.i, b["Ce"].i[:])  # subgroup P[:32] starts at 0
    np.testing.assert_array_equal(ce.j, b["Ce"].j[:])
    np.testing.assert_array_equal(ce.weights, np.full(len(b["Ce"]), float(b["we"])))
    np.testing.assert_array_equal(ce.delays_s, np.full(len(b["Ce"]), 0.002))
    np.testing.assert_array_equal(ci.i, b["Ci"].i[:] + 32)  # indices into the full group
    np.testing.assert_array_equal(ci.weights, np.full(len(b["Ci"]), float(b["wi"])))
    np.testing.assert_array_equal(ci.delays_s, b["Ci"].delay[:] / second)
    assert cc.source == b["cue"].name and cc.target_variable == "v" and cc.weight_unit == "volt"
    np.testing.assert_array_equal(cc.i, b["Cc"].i[:])
    np.testing.assert_array_equal(cc.j, b["Cc"].j[:] + 5)
    np.testing.assert_array_equal(cc.weights, b["Cc"].w[:] * float(mV))
    np.testing.assert_array_equal(cc.delays_s, b["Cc"].delay[:] / second)
    assert ce.n_synapses == len(b["Ce"]) > 0 and ci.n_synapses == len(b["Ci"]) > 0


def test_neurons_namespace_and_sources_match_the_brian2_objects():
    spec, b = cuba_script()
    model = spec.population(b["P"].name).model
    expected = {"taum": (b["taum"], "second"), "El": (b["El"], "volt"), "Vt": (b["Vt"], "volt"),
                "Vr": (b["Vr"], "volt"), "taue": (b["taue"], "second"), "taui": (10 * ms, "second")}
    found = {k: (q.value, q.unit) for k, q in model.parameters.items()}
    assert found == {k: (float(v), u) for k, (v, u) in expected.items()}
    np.testing.assert_array_equal(model.initial["v"].value, b["P"].v_[:])
    assert model.initial["ge"].value == 0.0 and model.initial["ge"].unit == "volt"
    assert (model.threshold, model.reset, model.refractory, model.method, model.voltage) == \
        ("v>Vt", "v = Vr", 0.005, "exact", "v")
    assert "(unless refractory)" in model.equations
    cue = spec.groups[b["cue"].name]
    np.testing.assert_array_equal(cue.indices, [0, 1, 2, 0])
    np.testing.assert_array_equal(cue.times_s, [0.002, 0.004, 0.006, 0.008])
    assert spec.dt == float(brian2.defaultclock.dt) and spec.duration == 0.04


def test_group_namespace_comes_before_the_calling_frame_as_in_brian2():
    tau = 99*ms  # noqa: F841 -- shadowed by the group's own namespace, as Brian2 resolves it
    v_th = 7*mV  # noqa: F841 -- not in the group's namespace: found in the calling frame
    G = NeuronGroup(2, 'dv/dt = -v/tau : volt', threshold='v > v_th', reset='v = 0*mV', namespace={'tau': 5*ms},
                    method='exact')
    spec = from_brian2(G, duration=10*ms)
    parameters = spec.population(G.name).model.parameters
    assert parameters["tau"].value == 0.005
    assert parameters["v_th"].value == 0.007
    net = Network(G)  # Brian2 itself resolves both names the same way
    net.run(0*ms)
    assert float(G.resolve_all(["tau", "v_th"], brian2.core.namespace.get_local_namespace(0))["tau"].value) == 0.005


def test_level_reaches_the_frame_that_defines_the_names():
    g_leak = 3*nS

    def helper(group):
        return from_brian2(group, duration=5*ms, level=1)

    G = NeuronGroup(1, 'dv/dt = -g_leak*v/(100*pF) : volt', method='euler')
    assert helper(G).population(G.name).model.parameters["g_leak"].value == float(g_leak)


def test_a_periodic_spike_generator_is_unrolled_over_the_run():
    gen = SpikeGeneratorGroup(2, [0, 1], [1, 3]*ms, period=5*ms)
    G = NeuronGroup(2, 'dv/dt = -v/(10*ms) : volt', method='exact')
    S = Synapses(gen, G, on_pre='v_post += 1*mV')
    S.connect(j='i')
    spec = from_brian2(S, duration=12*ms)
    source = spec.groups[gen.name]
    np.testing.assert_allclose(source.times_s, [0.001, 0.003, 0.006, 0.008, 0.011])
    np.testing.assert_array_equal(source.indices, [0, 1, 0, 1, 0])
    assert {p.name for p in spec.populations} == {G.name}  # the target comes with the Synapses


def refused(*objects) -> str:
    with pytest.raises(InputError) as info:
        from_brian2(*objects, duration=10*ms, level=1)  # names from the test's frame
    return str(info.value)


def small_group():
    return NeuronGroup(5, 'dv/dt = -v/(10*ms) : volt\nI_syn : volt', threshold='v > 1*mV', reset='v = 0*mV',
                       method='exact')


def test_summed_variables_are_refused_naming_the_synapses():
    G = small_group()
    S = Synapses(G, G, 'w : volt\nI_syn_post = w : volt (summed)', name="summing")
    S.connect(p=0.5)
    message = refused(G, S)
    assert message.startswith("Synapses 'summing'") and "summed variables" in message and "supported:" in message


def test_poisson_input_is_refused_naming_it():
    G = small_group()
    kick = PoissonInput(G, 'v', 10, 5*Hz, weight=0.1*mV)
    message = refused(Network(G, kick))
    assert message.startswith(f"PoissonInput '{kick.name}'") and "PoissonGroup" in message


@pytest.mark.parametrize("kwargs, what", [
    (dict(model='w : 1', on_pre='v_post += w*mV', on_post='w += 0.01'), "on_post"),
    (dict(model='w : 1', on_pre='v_post += w*mV\nw = clip(w + 0.1, 0, 1)'), "plasticity"),
    (dict(model='dx/dt = -x/(5*ms) : 1 (clock-driven)', on_pre='v_post += x*mV'), "differential equations"),
    (dict(model='w : 1', on_pre='w += 1'), "synaptic variable"),
    (dict(on_pre={'fast': 'v_post += 1*mV', 'slow': 'v_post += 2*mV'}), "2 synaptic pathways"),
    (dict(on_pre='v_post += v_pre'), "increment"),
    (dict(on_pre='v_post = 0*mV'), "on_pre code"),
])
def test_plasticity_and_unsupported_statements_are_refused(kwargs, what):
    G = small_group()
    S = Synapses(G, G, name="plastic", **kwargs)
    S.connect(p=0.5)
    message = refused(S)
    assert message.startswith("Synapses 'plastic'") and what in message and "supported:" in message


def test_spatial_neuron_is_refused_naming_it():
    neuron = SpatialNeuron(Soma(30*um), 'Im = 1*siemens/meter**2*(-70*mV - v) : amp/meter**2', name="cell")
    message = refused(neuron)
    assert message.startswith("SpatialNeuron 'cell'") and "multi-compartment" in message


def test_code_in_the_namespace_and_attached_operations_are_refused():
    stimulus = TimedArray([0, 1]*mV, dt=5*ms)  # noqa: F841 -- resolved from this frame by name
    G = NeuronGroup(2, 'dv/dt = (stimulus(t) - v)/(10*ms) : volt', method='euler', name="driven")
    assert "not a constant value" in refused(G)
    H = small_group()
    H.run_regularly('v += 0.1*mV', dt=1*ms)
    assert "run_regularly" in refused(H)
    noise = PoissonGroup(3, rates='10*Hz + 5*Hz*sin(2*pi*t/second)', name="modulated")
    assert refused(noise).startswith("PoissonGroup 'modulated'")


def test_a_network_that_has_run_is_refused():
    G = small_group()
    net = Network(G)
    net.run(1*ms, namespace={})
    assert "convert the network before running it" in refused(net)


def test_refractoriness_is_a_duration_when_constant_else_brian2_code():
    tau_ref = 4*ms  # noqa: F841 -- resolved from this frame
    eqs = 'dv/dt = -v/(10*ms) : volt (unless refractory)\nref : second'
    kwargs = dict(threshold='v > -20*mV', reset='v = 0*mV', method='exact')
    by_condition = NeuronGroup(2, eqs, refractory='v > -20*mV', **kwargs)
    by_name = NeuronGroup(2, eqs, refractory='tau_ref', **kwargs)
    per_neuron = NeuronGroup(2, eqs, refractory='ref', **kwargs)
    per_neuron.ref = [1, 2]*ms
    spec = from_brian2(by_condition, by_name, per_neuron, duration=5*ms)
    models = {p.name: p.model for p in spec.populations}
    assert models[by_condition.name].refractory == "v > -20*mV"
    assert models[by_name.name].refractory == 0.004 and "tau_ref" not in models[by_name.name].parameters
    assert models[per_neuron.name].refractory == "ref"
    np.testing.assert_array_equal(models[per_neuron.name].initial["ref"].value, [0.001, 0.002])
