"""Stochastic terms (``xi``): replayed Gaussian increments, in Brian2 and in the lowered program."""
import numpy as np
import pytest
from scipy import stats

from neuromorph.errors import InputError, ModelFileError
from neuromorph.model.model_file import load_model
from neuromorph.model.noise import noise_variables, replay_equations
from neuromorph.network.ir import NetworkSpec, NeuronModel, Population, SIQuantity
from neuromorph.network.noise import replay_noise
from neuromorph.network.reference import Recording, run_network_brian2

LIF_NOISE_TOML = '''
[neuron]
name = "lif_noise"
input = "I"
threshold = "v > -50*mV"
reset = "v = -65*mV"
refractory = "2*ms"
equations = """
dv/dt = (-(v - E_L) + R*I + sigma*sqrt(tau)*xi) / tau : volt (unless refractory)
I : amp
"""

[parameters]
E_L = "-65 * mV"
R = "100 * Mohm"
tau = "10 * ms"
sigma = "3 * mV"

[initial]
v = "-65 * mV"

[stimulus]
kind = "step"
amplitude = "0.14 * nA"

[simulation]
dt = "0.1 * ms"
duration = "{duration}"
neurons = {neurons}
method = "euler"
noise = "replay"
noise_seed = 7
'''

OU = "dx/dt = -x / tau + sigma * sqrt(2 / tau) * xi : volt"
OU_PARAMETERS = {"tau": SIQuantity(0.01, "second"), "sigma": SIQuantity(0.002, "volt")}


def lif_noise_file(tmp_path, duration="1 * second", neurons=10):
    path = tmp_path / "lif_noise.toml"
    path.write_text(LIF_NOISE_TOML.format(duration=duration, neurons=neurons))
    return path


def ou_network(size=200, duration=0.2, equations=OU, seed=5) -> NetworkSpec:
    model = NeuronModel(name="ou", equations=equations, parameters=OU_PARAMETERS, threshold=None, reset=None,
                        refractory=None, method="euler", voltage="x", initial={})
    return NetworkSpec(populations=(Population(name="ou", size=size, model=model),), sources=(), projections=(),
                       dt=1e-4, duration=duration, seed=seed)


def test_replay_equations_declare_one_parameter_per_noise_variable():
    text, parameters = replay_equations("dv/dt = -v/tau + s*xi_a : volt\ndw/dt = -w/tau + s*xi_b + s*xi_a : volt",
                                        "euler")
    assert parameters == {"xi_a": "neuromorph_xi_a", "xi_b": "neuromorph_xi_b"}
    assert "neuromorph_xi_a : second ** -0.5" in text and noise_variables(text) == ()


def test_multiplicative_noise_is_refused_naming_equation_and_method():
    with pytest.raises(InputError, match=r"dv/dt = .*multiplicative.*\['v'\].*'euler'"):
        replay_equations("dv/dt = -v/tau + v*xi/sqrt(tau) : 1", "euler", InputError)


def test_a_method_that_cannot_integrate_noise_is_refused():
    with pytest.raises(InputError, match="'exponential_euler' cannot integrate noise: use method 'euler'"):
        replay_equations(OU, "exponential_euler", InputError)


def test_replayed_brian2_run_is_euler_maruyama_with_the_replayed_increments():
    """x[n+1] = x[n] - dt x[n] / tau + sigma sqrt(2 / tau) sqrt(dt) z[n], z the replayed N(0, 1) draws."""
    spec = replay_noise(ou_network(size=5, duration=0.02))
    trace = run_network_brian2(spec, codegen="numpy", record=Recording(variables=("x",))).populations["ou"]
    z = spec.current_sources[0].values * np.sqrt(spec.dt)
    tau, sigma = 0.01, 0.002
    x = np.zeros((spec.n_steps, 5))
    for n in range(spec.n_steps - 1):
        x[n + 1] = x[n] - spec.dt * x[n] / tau + sigma * np.sqrt(2 / tau) * np.sqrt(spec.dt) * z[n]
    np.testing.assert_allclose(trace.states["x"], x, rtol=0, atol=1e-15)


def test_replay_has_brian2s_own_noise_statistics():
    """Brian2 with its own xi and with replayed increments: the same stationary distribution (sigma = 2 mV)."""
    own = run_network_brian2(ou_network(), codegen="numpy", record=Recording(variables=("x",)))
    replayed = run_network_brian2(replay_noise(ou_network()), codegen="numpy", record=Recording(variables=("x",)))
    settled = slice(1000, None, 50)  # after 10 tau, every 0.5 tau
    a, b = own.populations["ou"].states["x"][settled].ravel(), replayed.populations["ou"].states["x"][settled].ravel()
    assert np.std(a) == pytest.approx(0.002, rel=0.05) and np.std(b) == pytest.approx(0.002, rel=0.05)
    assert stats.ks_2samp(a, b).pvalue > 0.01


def test_noise_variables_are_independent_streams():
    spec = replay_noise(ou_network(size=50, equations=OU + "\ndy/dt = -y / tau + sigma * sqrt(2 / tau) * xi_2 : volt"))
    first, second = (s.values.ravel() for s in spec.current_sources)
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.01
    assert np.std(first) * np.sqrt(spec.dt) == pytest.approx(1.0, rel=0.01)


def test_model_file_noise_becomes_an_input(tmp_path):
    model = load_model(lif_noise_file(tmp_path))
    assert [i.name for i in model.spec.inputs] == ["I", "neuromorph_xi"]
    assert model.noise.parameters == {"xi": "neuromorph_xi"} and model.noise.seed == 7


def test_model_file_with_noise_and_exponential_euler_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(LIF_NOISE_TOML.format(duration="10 * ms", neurons=1).replace('method = "euler"', ""))
    with pytest.raises(ModelFileError, match="simulation.method.*use method 'euler'"):
        load_model(path)


@pytest.mark.slow
@pytest.mark.parametrize("target, state_bits, backend", [("loihi2", None, "emulator"), ("loihi2", 16, "both")])
def test_replayed_noise_keeps_spike_fidelity(tmp_path, target, state_bits, backend):
    """10 LIF neurons driven near threshold by noise for 1 s: Gamma >= 0.98; Lava equal to the emulator."""
    from neuromorph.pipeline import CompareOptions, build_report, run_compare
    from neuromorph.quantization.quantize import QuantConfig
    from neuromorph.targets import load_target

    model = load_model(lif_noise_file(tmp_path))
    chosen = load_target(target)
    config = QuantConfig.for_target(chosen, method="euler", **({"state_bits": state_bits} if state_bits else {}))
    report = build_report(run_compare(model, chosen, config, CompareOptions(backend=backend)))
    assert report["rates_hz"]["reference"] > 10
    assert report["gamma"] >= 0.98
    if backend == "both":
        assert report["lava_matches_emulator"]["match"]
