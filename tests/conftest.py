"""Shared fixtures: the squid axon equations and parameters, written out independently of examples/."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

SQUID_EQUATIONS = """
dv/dt = (I_inj - I_Na - I_K - I_L) / C_m : volt
I_Na = g_Na * m**3 * h * (v - E_Na) : amp/meter**2
I_K = g_K * n**4 * (v - E_K) : amp/meter**2
I_L = g_L * (v - E_L) : amp/meter**2
dm/dt = alpha_m * (1 - m) - beta_m * m : 1
dh/dt = alpha_h * (1 - h) - beta_h * h : 1
dn/dt = alpha_n * (1 - n) - beta_n * n : 1
alpha_m = 1 / exprel(-(v + 40*mV) / (10*mV)) / ms : Hz
beta_m = 4 * exp(-(v + 65*mV) / (18*mV)) / ms : Hz
alpha_h = 0.07 * exp(-(v + 65*mV) / (20*mV)) / ms : Hz
beta_h = 1 / (1 + exp(-(v + 35*mV) / (10*mV))) / ms : Hz
alpha_n = 0.1 / exprel(-(v + 55*mV) / (10*mV)) / ms : Hz
beta_n = 0.125 * exp(-(v + 65*mV) / (80*mV)) / ms : Hz
I_inj : amp/meter**2
"""

# SI values: F/m^2, S/m^2, V.
SQUID_PARAMETERS_SI = {
    "C_m": 1e-2, "g_Na": 1200.0, "g_K": 360.0, "g_L": 3.0,
    "E_Na": 0.050, "E_K": -0.077, "E_L": -0.054387,
}

SQUID_TOML = '''
[neuron]
name = "squid_test"
input = "I_inj"
threshold = "v > -20*mV"
refractory = "v > -20*mV"
equations = """{equations}"""

[parameters]
C_m = "1 * uF/cm**2"
g_Na = "120 * mS/cm**2"
g_K = "36 * mS/cm**2"
g_L = "0.3 * mS/cm**2"
E_Na = "50 * mV"
E_K = "-77 * mV"
E_L = "-54.387 * mV"

[initial]
v = "-65 * mV"

[stimulus]
kind = "ou"
mean = "5 * uA/cm**2"
sigma = "3 * uA/cm**2"
tau = "5 * ms"
seed = {seed}

[simulation]
dt = "0.025 * ms"
duration = "{duration}"
neurons = {neurons}
'''


#: The tests' small network file: the leaky integrate-and-fire population ``L`` in equations, a Poisson
#: source ``noise`` into its ``I`` through ``noise_to_L`` (delayed); ``{populations}``, ``{sources}`` and
#: ``{projections}`` add tables after the ones of their kind (see :func:`small_network`).
SMALL_NETWORK = '''
[simulation]
dt = "0.1 * ms"
duration = "{duration}"
seed = {seed}

[populations.L]
size = {size}
equations = """
dv/dt = (-v + I) / tau_v : volt
dI/dt = -I / tau_I : volt
"""
threshold = "v > 10*mV"
reset = "v = 0*mV"
parameters = {{ tau_v = "10 * ms", tau_I = "5 * ms" }}
initial = {{ v = {{ distribution = "uniform", low = "0 * mV", high = "10 * mV" }} }}
{populations}
[sources.noise]
kind = "poisson"
size = {trains}
rate = "{rate}"
{sources}
[projections.noise_to_L]
source = "noise"
target = "L"
connect = {{ rule = "probability", p = {p} }}
weight = "6 * mV"
delay = "0.5 * ms"
effect = "I += w"
{projections}'''


def small_network(duration: str, seed: int, size: int, trains: int, rate: str, p: float, populations: str = "",
                  sources: str = "", projections: str = "") -> str:
    """The text of :data:`SMALL_NETWORK`: ``size`` neurons in ``L``, ``trains`` Poisson trains at ``rate``,
    connection probability ``p``; ``populations``, ``sources`` and ``projections``: more tables (TOML text
    ending in a blank line), each after the tables of its kind."""
    return SMALL_NETWORK.format(duration=duration, seed=seed, size=size, trains=trains, rate=rate, p=p,
                                populations=populations, sources=sources, projections=projections)


def squid_toml(duration="50 * ms", neurons=10, seed=3, equations=SQUID_EQUATIONS) -> str:
    """A squid HH model file as text (independent of examples/squid_hh.toml)."""
    return SQUID_TOML.format(equations=equations, duration=duration, neurons=neurons, seed=seed)


#: gcc flags for the Cython code Brian2 compiles in the tests (its default adds ``-O3 -ffast-math
#: -march=native``): half the compile time (the feed-forward HH network's test, cold: 19.8 against
#: 37.3 s on the 2-core machine), and IEEE arithmetic; the runs are Brian2's own code all the same.
#: Only this process's runs: the command lines a test starts as subprocesses compile with Brian2's
#: defaults.
BRIAN2_TEST_COMPILE_ARGS = ["-w", "-O0", "-std=c++11"]


def apply_brian2_test_prefs():
    """Brian2's Cython code compiled with :data:`BRIAN2_TEST_COMPILE_ARGS`. Again after every
    ``reinit_devices()``, which restores the preferences Brian2 had when it was imported."""
    import brian2

    brian2.prefs.codegen.cpp.extra_compile_args_gcc = BRIAN2_TEST_COMPILE_ARGS


def pytest_configure(config):
    apply_brian2_test_prefs()


@pytest.fixture(autouse=True)
def brian2_test_defaults():
    """Each test starts at Brian2's default dt (0.1 ms) and with the tests' compiler flags: a script that
    sets ``defaultclock.dt`` (several of Brian2's examples do) would otherwise change it for the tests
    after it in the same worker."""
    brian2 = sys.modules.get("brian2")
    if brian2 is not None:
        brian2.defaultclock.dt = 0.1 * brian2.ms
        apply_brian2_test_prefs()
    yield


def execute_script(text: str, seed: int = 1, filename: str = "<script>") -> dict:
    """Run the Brian2 script ``text`` after ``seed(seed)`` with its own objects' code on Brian2's numpy
    target (rand() initialisation, connect(), setters: compiling them buys a test nothing); return its
    namespace. Brian2's devices, preferences and default clock are reset afterwards, and the tests'
    preferences applied again."""
    import brian2
    from brian2.devices.device import reinit_devices

    namespace = {"__name__": "__main__"}
    try:
        brian2.prefs.codegen.target = "numpy"
        brian2.seed(seed)
        exec(compile(text, filename, "exec"), namespace)  # noqa: S102 -- the test's script
    finally:
        brian2.set_device("runtime")
        reinit_devices()
        apply_brian2_test_prefs()
    return namespace


@pytest.fixture
def rng():
    """A random generator seeded afresh for each test: a test's numbers do not depend on which tests
    ran before it in the same (xdist) worker."""
    return np.random.default_rng(20261202)


@pytest.fixture
def brian2_numpy_target():
    """Brian2's numpy target for code run while a script builds its objects (rand() initialisation,
    connect(p=...)): Cython would compile each of these once per object name (3-5 s each), and the
    names depend on test order. Runs that neuromorph starts choose their own target."""
    import brian2

    saved = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "numpy"
    yield
    brian2.prefs.codegen.target = saved


@pytest.fixture
def squid_file(tmp_path):
    """Write a short squid model file and return its path."""
    def write(**kwargs):
        path = tmp_path / "squid.toml"
        path.write_text(squid_toml(**kwargs))
        return path
    return write


# -- running in parallel (pytest-xdist, `make test` runs ``-n auto --dist loadgroup``) ---------
#: Fixture scopes computed once for many tests.
SHARED_SCOPES = ("session", "package", "module")
#: Node id prefix of fixtures defined in this folder (conftest and test modules).
TESTS = Path(__file__).parent.name


def pytest_collection_modifyitems(config, items):
    """Tests that share a module- or session-scoped fixture go to one xdist worker (``xdist_group``),
    so that what the fixture computes (a Brian2 reference, a Dask cluster, a compiled network) is
    computed once, as in a serial run; every other test goes to whichever worker is free.

    Without ``-n`` (or without pytest-xdist) the mark does nothing and the order is unchanged.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    shared = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        keys = []
        for name, definitions in (info.name2fixturedefs.items() if info else ()):
            definition = definitions[-1]
            if definition.scope in SHARED_SCOPES and (definition.baseid or "").startswith(TESTS):
                keys.append(f"{definition.baseid}::{name}")  # ours, not pytest's own (tmp_path_factory)
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
        shared[item.nodeid] = keys[0] if keys else None
    for item in items:
        if shared[item.nodeid] is not None:
            item.add_marker(pytest.mark.xdist_group(find(shared[item.nodeid])))


def lower_network_text(directory, text: str, target: str = "loihi2"):
    """The network file ``text`` (written into ``directory``) lowered at ``target``'s defaults from its
    Brian2 run on the numpy target, its Poisson sources replayed."""
    from neuromorph.network.lower import lower_network, recorded_variables
    from neuromorph.network.network_file import load_network_file
    from neuromorph.network.reference import Recording, replay_sources, run_network_brian2
    from neuromorph.quantization.quantize import QuantConfig
    from neuromorph.targets import load_target

    path = Path(directory) / "net.toml"
    path.write_text(text)
    spec = load_network_file(path)
    reference = run_network_brian2(spec, codegen="numpy", record=Recording(variables=recorded_variables(spec)))
    hardware = load_target(target)
    return lower_network(replay_sources(spec, reference), reference, hardware, QuantConfig.for_target(hardware))
