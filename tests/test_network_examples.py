"""The example networks behave in Brian2 float as their files claim; the Brian2 script example converts.

Brian2's Cython target is used when it compiles (the first run of each network compiles
its code once); spectra are computed here with scipy, independently of examples/.
"""
import dataclasses
import runpy

import numpy as np
import pytest
from scipy.signal import welch

from neuromorph.network.network_file import load_network
from neuromorph.network.reference import default_codegen, run_network_brian2

from .conftest import EXAMPLES

NETWORKS = EXAMPLES / "networks"


def run(name: str, seed: int = 1, duration: float | None = None, drop: str | None = None):
    spec = load_network(NETWORKS / f"{name}.toml", seed=seed)
    if duration is not None:
        spec = dataclasses.replace(spec, duration=duration)
    if drop is not None:
        spec = dataclasses.replace(spec, projections=tuple(p for p in spec.projections if p.name != drop))
    return run_network_brian2(spec, codegen=default_codegen(), record=None)


def rate_peak(trains, duration: float) -> tuple[float, float]:
    """Peak frequency of the population-rate spectrum in 20-100 Hz and its power over the median power."""
    counts = np.histogram(np.concatenate(trains), bins=np.arange(0, duration + 5e-4, 1e-3))[0].astype(float)
    f, power = welch(counts - counts.mean(), fs=1000.0, nperseg=500)
    band = (f >= 20) & (f <= 100)
    k = np.flatnonzero(band)[np.argmax(power[band])]
    return f[k], power[k] / np.median(power[(f > 0) & (f <= 250)])


@pytest.mark.slow
def test_feed_forward_hh_fires_at_10_to_40_hz():
    trace = run("ff_hh", duration=0.5)
    rate = trace.populations["hh"].rate_hz(trace.duration)
    assert 10 <= rate <= 40
    assert trace.sources["poisson"].times_s.size == pytest.approx(200 * 10 * 0.5, rel=0.1)  # 10 Hz trains


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ping_oscillates_in_the_gamma_band(seed):
    trace = run("ping", seed=seed)
    e, i = trace.populations["E"], trace.populations["I"]
    frequency, prominence = rate_peak(e.spike_trains, trace.duration)
    assert 30 <= frequency <= 80 and prominence > 20
    assert i.rate_hz(trace.duration) > 2 * e.rate_hz(trace.duration) > 10  # interneurons fire on every cycle


@pytest.mark.slow
def test_lif_network_fires_and_its_recurrent_inhibition_acts():
    coupled = run("lif_net", duration=0.5)
    uncoupled = run("lif_net", duration=0.5, drop="recurrent")
    rate = coupled.populations["lif"].rate_hz(coupled.duration)
    assert 5 <= rate <= 40
    assert uncoupled.populations["lif"].rate_hz(uncoupled.duration) > 1.2 * rate


def test_brian2_script_example_converts_with_three_added_lines():
    path = EXAMPLES / "network_from_brian2.py"
    code = path.read_text().split('"""', 2)[2].split('if __name__ == "__main__":')[0]  # the script proper
    added = [line for line in code.splitlines() if "# added" in line]
    assert len(added) == 3
    assert [line for line in code.splitlines() if "neuromorph" in line or "spec" in line] == added
    namespace = runpy.run_path(str(path), run_name="example")
    spec, P = namespace["spec"], namespace["P"]
    assert {p.name for p in spec.populations} == {P.name} and len(spec.sources) == 2
    inhibitory = {p.name: p for p in spec.projections}[namespace["Ci"].name]
    assert inhibitory.i.min() >= 320  # the subgroup P[320:] is the full group plus an offset
    noise = {p.name: p for p in spec.projections}[namespace["Cn"].name]
    assert noise.delays_s.min() >= 1e-3 and noise.delays_s.max() <= 5e-3
