"""The example networks behave in Brian2 float as their files claim; the Brian2 script example converts.

Brian2's numpy target: 5,000 steps of ff_hh take about 1 s and of lif_net less, where Cython
compiles for 20-40 s before its first step. PING's claim (gamma rhythm, I on every cycle) is checked
in test_network_compare on the Brian2 references of its acceptance test, the same runs.
"""
import dataclasses
import runpy

import pytest

from neuromorph.network.network_file import load_network_file
from neuromorph.network.reference import run_network_brian2

from .conftest import EXAMPLES

NETWORKS = EXAMPLES / "networks"


def run(name: str, seed: int = 1, duration: float | None = None, drop: str | None = None):
    spec = load_network_file(NETWORKS / f"{name}.toml", seed=seed)
    if duration is not None:
        spec = dataclasses.replace(spec, duration=duration)
    if drop is not None:
        spec = dataclasses.replace(spec, projections=tuple(p for p in spec.projections if p.name != drop))
    return run_network_brian2(spec, codegen="numpy", record=None)


@pytest.mark.slow
def test_feed_forward_hh_fires_at_10_to_40_hz():
    trace = run("ff_hh", duration=0.5)
    rate = trace.populations["hh"].rate_hz(trace.duration)
    assert 10 <= rate <= 40
    assert trace.sources["poisson"].times_s.size == pytest.approx(200 * 10 * 0.5, rel=0.1)  # 10 Hz trains


@pytest.mark.slow
def test_lif_network_fires_and_its_recurrent_inhibition_acts():
    coupled = run("lif_net", duration=0.5)
    uncoupled = run("lif_net", duration=0.5, drop="recurrent")
    rate = coupled.populations["lif"].rate_hz(coupled.duration)
    assert 5 <= rate <= 40
    assert uncoupled.populations["lif"].rate_hz(uncoupled.duration) > 1.2 * rate


def test_brian2_script_example_converts_with_three_added_lines(brian2_numpy_target):
    # the script's own rand() initialisation and connect(p=...) on numpy: compiling them (3 Cython
    # modules, ~20 s cold) buys nothing here, the test checks the exported structure
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
