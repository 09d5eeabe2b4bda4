"""Network files: the same NetworkSpec as the equivalent Brian2 script, model files, seeded draws, errors."""
import brian2
import numpy as np
import pytest
from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeGeneratorGroup, Synapses, mV, ms

from neuromorph.errors import InputError
from neuromorph.model.model_file import load_model
from neuromorph.network import from_brian2
from neuromorph.network.network_file import NetworkFileError, load_network_file
from neuromorph.network.reference import Recording, run_network_brian2

from .conftest import SQUID_EQUATIONS, squid_toml
from .test_network_from_brian2 import numpy_target  # noqa: F401 -- autouse fixture

NETWORK = '''
[simulation]
dt = "0.1 * ms"
duration = "50 * ms"
seed = 2

[populations.E]
size = 6
equations = """
dv/dt = (E_L - v + I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_s : volt
"""
threshold = "v > V_t"
reset = "v = E_L"
refractory = "2 * ms"
method = "exact"
parameters = { tau_m = "20 * ms", tau_s = "5 * ms", E_L = "-70 * mV", V_t = "-50 * mV" }
initial = { v = "-65 * mV" }

[populations.I]
size = 6
equations = """
dv/dt = (E_L - v + I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_s : volt
"""
threshold = "v > V_t"
reset = "v = E_L"
refractory = "1 * ms"
method = "exact"
parameters = { tau_m = "10 * ms", tau_s = "5 * ms", E_L = "-70 * mV", V_t = "-52 * mV" }
initial = { v = "-70 * mV" }

[sources.cue]
kind = "spike_times"
size = 3
indices = [0, 1, 2, 1]
times = ["1 * ms", "2 * ms", "3 * ms", "4.5 * ms"]

[sources.noise]
kind = "poisson"
size = 4
rate = "20 * Hz"

[projections.cue_to_E]
source = "cue"
target = "E"
connect = { rule = "explicit", i = [0, 1, 2, 2], j = [0, 2, 4, 5] }
weight = "60 * mV"
effect = "I_syn += w"

[projections.noise_to_E]
source = "noise"
target = "E"
connect = { rule = "all_to_all" }
weight = "2 * mV"
delay = "1.5 * ms"
effect = "I_syn += w"

[projections.E_to_I]
source = "E"
target = "I"
connect = { rule = "one_to_one" }
weight = "25 * mV"
delay = "1 * ms"
effect = "I_syn += w"

[projections.I_to_E]
source = "I"
target = "E"
connect = { rule = "all_to_all" }
weight = "3 * mV"
delay = "0.5 * ms"
effect = "I_syn -= w"

[projections.E_to_E]
source = "E"
target = "E"
connect = { rule = "all_to_all", autapses = false }
weight = "0.5 * mV"
effect = "v += w"
'''


def write(tmp_path, text, name="net.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def brian2_equivalent():
    """The same network written as a Brian2 script (objects named as the file names them)."""
    tau_m = 20*ms
    tau_s = 5*ms
    E_L = -70*mV
    V_t = -50*mV
    eqs = '''
    dv/dt = (E_L - v + I_syn)/tau_m : volt (unless refractory)
    dI_syn/dt = -I_syn/tau_s : volt
    '''
    E = NeuronGroup(6, eqs, threshold='v > V_t', reset='v = E_L', refractory=2*ms, method='exact', name='E')
    E.v = -65*mV
    I = NeuronGroup(6, eqs, threshold='v > V_t', reset='v = E_L', refractory=1*ms, method='exact', name='I',
                    namespace={'tau_m': 10*ms, 'tau_s': 5*ms, 'E_L': -70*mV, 'V_t': -52*mV})
    I.v = -70*mV
    cue = SpikeGeneratorGroup(3, [0, 1, 2, 1], [1, 2, 3, 4.5]*ms, name='cue')
    noise = PoissonGroup(4, rates=20*Hz, name='noise')
    cue_to_E = Synapses(cue, E, on_pre='I_syn_post += 60*mV', name='cue_to_E')
    cue_to_E.connect(i=[0, 1, 2, 2], j=[0, 2, 4, 5])
    noise_to_E = Synapses(noise, E, on_pre='I_syn += 2*mV', delay=1.5*ms, name='noise_to_E')
    noise_to_E.connect()
    E_to_I = Synapses(E, I, on_pre='I_syn += 25*mV', delay=1*ms, name='E_to_I')
    E_to_I.connect(j='i')
    I_to_E = Synapses(I, E, 'w : volt', on_pre='I_syn_post -= w', name='I_to_E')
    I_to_E.connect()
    I_to_E.w = 3*mV
    I_to_E.delay = 0.5*ms
    E_to_E = Synapses(E, E, on_pre='v_post += 0.5*mV', name='E_to_E')
    E_to_E.connect(condition='i != j')
    return from_brian2(E, I, cue, noise, cue_to_E, noise_to_E, E_to_I, I_to_E, E_to_E, duration=50*ms, seed=2)


def test_file_gives_the_same_spec_as_the_equivalent_brian2_script(tmp_path):
    loaded = load_network_file(write(tmp_path, NETWORK))
    assert loaded.to_dict() == brian2_equivalent().to_dict()
    assert loaded.population("E").model.initial["I_syn"].value == 0.0  # steady state of dI/dt = -I/tau_s
    trace = run_network_brian2(loaded, codegen="numpy", record=None)
    assert trace.populations["E"].rate_hz(trace.duration) > 0  # the cue makes E fire


def test_model_file_with_overrides_and_steady_state_gates(tmp_path):
    write(tmp_path, squid_toml(), "squid.toml")
    text = '''
[simulation]
dt = "0.025 * ms"
duration = "10 * ms"

[populations.axon]
size = 3
model = "squid.toml"
parameters = { g_L = "0.3 * mS/cm**2" }
'''
    spec = load_network_file(write(tmp_path, text))
    model = spec.population("axon").model
    assert model.name == "squid_test" and model.threshold == "v > -20*mV" and model.refractory == "v > -20*mV"
    assert model.parameters["g_Na"].value == 1200.0 and model.parameters["g_L"].value == pytest.approx(3.0)
    assert model.parameters["g_L"].dimensions == brian2.get_dimensions(brian2.siemens / brian2.meter**2)
    leakier = load_network_file(write(tmp_path, text.replace("0.3 * mS", "0.5 * mS"), "leaky.toml"))
    assert leakier.population("axon").model.parameters["g_L"].value == pytest.approx(5.0)  # the override wins
    v = -65.0  # mV; the squid rate functions written out independently (per ms)
    alpha_m = 0.1 * (v + 40) / (1 - np.exp(-(v + 40) / 10))
    beta_m = 4 * np.exp(-(v + 65) / 18)
    alpha_n = 0.01 * (v + 55) / (1 - np.exp(-(v + 55) / 10))
    beta_n = 0.125 * np.exp(-(v + 65) / 80)
    assert model.initial["m"].value == pytest.approx(alpha_m / (alpha_m + beta_m), rel=1e-12)
    assert model.initial["n"].value == pytest.approx(alpha_n / (alpha_n + beta_n), rel=1e-12)
    assert model.initial["I_inj"].value == 0.0 and model.initial["v"].value == -0.065
    trace = run_network_brian2(spec, codegen="numpy", record=Recording(every=40))
    assert np.abs(trace.populations["axon"].states["v"] + 0.065).max() < 2e-4  # rests: gates start at steady state


def projection_file(**projection) -> str:
    keys = "\n".join(f"{k} = {v}" for k, v in projection.items())
    return f'''
[simulation]
dt = "0.1 * ms"
duration = "10 * ms"
seed = 11

[populations.E]
size = 300
equations = "dv/dt = (g*(-80*mV - v) + (-70*mV - v)*nS)/(200*pF) : volt\\ng : siemens"
threshold = "v > -50*mV"
initial = {{ v = "-70 * mV" }}

[projections.EE]
source = "E"
target = "E"
effect = "g += w"
{keys}
'''


def test_probability_connections_and_distributions_follow_their_laws(tmp_path):
    spec = load_network_file(write(tmp_path, projection_file(
        connect='{ rule = "probability", p = 0.1, autapses = false }',
        weight='{ distribution = "normal", mean = "1 * nS", std = "2 * nS" }',
        delay='{ distribution = "uniform", low = "1 * ms", high = "5 * ms" }')))
    p = spec.projections[0]
    pairs = 300 * 299
    assert abs(p.n_synapses - 0.1 * pairs) < 5 * np.sqrt(pairs * 0.1 * 0.9)
    assert not np.any(p.i == p.j)
    assert p.weights.min() == 0.0  # clipped at 0: never inhibitory
    from scipy.stats import norm
    assert np.mean(p.weights == 0) == pytest.approx(norm.cdf(-0.5), abs=0.02)
    assert p.delays_s.min() >= 1e-3 and p.delays_s.max() <= 5e-3
    assert np.mean(p.delays_s) == pytest.approx(3e-3, rel=0.02)
    again = load_network_file(tmp_path / "net.toml")
    assert again == spec
    assert load_network_file(tmp_path / "net.toml", seed=12) != spec


def test_lognormal_weights_have_the_requested_mean_and_std(tmp_path):
    spec = load_network_file(write(tmp_path, projection_file(
        connect='{ rule = "all_to_all" }',
        weight='{ distribution = "lognormal", mean = "2 * nS", std = "1 * nS", seed = 3 }')))
    w = spec.projections[0].weights
    assert w.min() > 0
    assert np.mean(w) == pytest.approx(2e-9, rel=0.01) and np.std(w) == pytest.approx(1e-9, rel=0.02)


BAD = [
    ('size = 6\n', 'sise = 6\n', "populations.E.sise", "unknown key; allowed: ["),
    ('size = 6\n', 'size = "six"\n', "populations.E.size", "must be an integer, got 'six'"),
    ('target = "I"\nconnect = { rule = "one_to_one" }', 'target = "X"\nconnect = { rule = "one_to_one" }',
     "projections.E_to_I.target", "unknown population 'X'"),
    ('delay = "1 * ms"', 'delay = "-1 * ms"', "projections.E_to_I.delay", "delays must be >= 0"),
    ('weight = "25 * mV"', 'weight = 25', "projections.E_to_I.weight", "needs units of"),
    ('weight = "25 * mV"', 'weight = "__import__(\'os\').system(\'echo hacked\')"', "projections.E_to_I.weight",
     "is not a quantity"),
    ('weight = "25 * mV"', 'weight = "25 * nS"', "projections.E_to_I.weight", "expected a quantity in"),
    ('weight = "25 * mV"', 'weight = { distribution = "gamma", mean = "1*mV" }',
     "projections.E_to_I.weight.distribution",
     "must be one of"),
    ('effect = "I_syn -= w"', 'effect = "I_syn *= w"', "projections.I_to_E.effect", "'VARIABLE += w'"),
    ('initial = { v = "-65 * mV" }', 'initial = { }', "populations.E.initial.v", "initial membrane potential"),
    ('rate = "20 * Hz"', 'rates = "20 * Hz"', "sources.noise.rates", "unknown key"),
    ('kind = "poisson"\nsize = 4\nrate = "20 * Hz"', 'kind = "poisson"\nsize = 4', "sources.noise.rate",
     "missing required key"),
    ('connect = { rule = "one_to_one" }', 'connect = { rule = "one_to_one", p = 0.5 }',
     "projections.E_to_I.connect.p", "unknown key; allowed: ['rule']"),
    ('V_t = "-50 * mV" }', 'V_t = "-50 * mV", tau_x = "1 * ms" }', "populations.E.parameters.tau_x", "not used"),
    ('refractory = "2 * ms"', 'refractory = "2 * mV"', "populations.E.refractory", "expected a quantity in"),
    ('E_L = "-70 * mV", V_t = "-50 * mV" }', 'E_L = "-70 * mV" }', "populations.E.threshold", "['V_t']"),
    ('refractory = "2 * ms"', 'refractory = "V_t"', "populations.E.refractory", "expected a quantity in second"),
    ('threshold = "v > V_t"', 'threshold = "v > V_t + 1*ms"', "populations.E.threshold", "inconsistent units"),
    ('threshold = "v > V_t"', 'threshold = "v < V_t"', "populations.E.threshold", "'v > VALUE'"),
    ('reset = "v = E_L"', 'reset = "v = 1*ms"', "populations.E.reset", "expected a quantity in"),
    ('tau_m = "20 * ms"', 'tau_m = "20 * mV"', "populations.E.equations", "inconsistent units"),
    ('tau_m = "20 * ms"', 'tau_m = "20 * ms", exp = 2', "populations.E.parameters.exp", "rename it"),
    ('method = "exact"', 'method = "rk99"', "populations.E.method", "must be one of"),
]


@pytest.mark.parametrize("old, new, field, message", BAD, ids=[b[2] for b in BAD])
def test_mistakes_raise_one_error_naming_file_and_field(tmp_path, old, new, field, message):
    assert old in NETWORK
    path = write(tmp_path, NETWORK.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_network_file(path)
    assert str(info.value).startswith(f"{path}:{field}: ")
    assert message in str(info.value)


def test_missing_model_file_and_malformed_toml(tmp_path):
    path = write(tmp_path, NETWORK.replace('size = 6\n', 'size = 6\nmodel = "nowhere.toml"\n', 1))
    with pytest.raises(NetworkFileError, match="populations.E.model: model file 'nowhere.toml' not found"):
        load_network_file(path)
    with pytest.raises(InputError, match="malformed TOML"):
        load_network_file(write(tmp_path, "[simulation\n"))
    with pytest.raises(InputError, match="simulation: missing section"):
        load_network_file(write(tmp_path, '[populations.E]\nsize = 1\n'))


def test_a_population_model_file_gets_the_model_file_checks(tmp_path):
    """The model file's own sections are validated as a model file's, errors naming that file."""
    write(tmp_path, squid_toml().replace('refractory = "v > -20*mV"', 'refractory = "2 * mV"'), "squid.toml")
    path = write(tmp_path, '[simulation]\ndt = "0.025 * ms"\nduration = "5 * ms"\n\n'
                           '[populations.axon]\nsize = 2\nmodel = "squid.toml"\n')
    with pytest.raises(InputError, match=r"squid\.toml:neuron\.refractory: expected a quantity in s"):
        load_network_file(path)
    write(tmp_path, squid_toml().replace("[neuron]", "[neuron]\nspeed = 3"), "squid.toml")
    with pytest.raises(InputError, match=r"squid\.toml:neuron\.speed: unknown key; allowed: \["):
        load_network_file(path)
    write(tmp_path, squid_toml(equations=SQUID_EQUATIONS.replace("m**3", "m**300")), "squid.toml")
    with pytest.raises(InputError, match=r"squid\.toml:neuron\.equations: the equation of 'I_Na' raises to the power 300"):
        load_network_file(path)


def test_a_refractory_duration_in_volts_is_refused_in_a_model_file(tmp_path):
    """'2 * mV' once read as 2 ms when the model had parameters."""
    path = write(tmp_path, squid_toml().replace('refractory = "v > -20*mV"', 'refractory = "2 * mV"'), "m.toml")
    with pytest.raises(InputError, match=r"m\.toml:neuron\.refractory: expected a quantity in s"):
        load_model(path)
