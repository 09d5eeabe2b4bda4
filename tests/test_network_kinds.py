"""Population kinds: each is one class, and a new one needs nothing but its class.

A toy kind (an echo, a relay of its own: a neuron fires in the step after any positive input reaches it)
is registered for one test and runs through the emulator, the export (written and loaded
back) and the resource report without any other change; what it does is checked against
the source raster shifted by Lava's one-step synaptic latency. A static check refuses a
branch on a kind's name outside ``neuromorph/network/kinds/``.
"""
from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from neuromorph.network.emulator import run_network
from neuromorph.network.export import export_network, load_export
from neuromorph.network.kinds import EXPORT_KEYS, KINDS, LoweredPopulation
from neuromorph.network.lava_semantics import LavaProjection
from neuromorph.network.lower import LoweredNetwork, LoweredProjection, LoweredSource
from neuromorph.network.resources import population_resources
from neuromorph.network.weights import quantize_weights
from neuromorph.quantization.quantize import QuantConfig
from neuromorph.targets import load_target

PACKAGE = Path(__file__).resolve().parents[1] / "neuromorph"


class RelayStepper:
    """State row 0: the input of the last step; spikes where it was positive."""

    n_counters = 0

    def __init__(self, size: int):
        self.size = size

    def initial(self) -> np.ndarray:
        return np.zeros((1, self.size), dtype=np.int64)

    def inputs(self) -> np.ndarray:
        return np.zeros((1, self.size), dtype=np.int64)

    def step(self, state, inputs, t):
        return inputs[:1].copy(), inputs[0] > 0, np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class RelayPopulation(LoweredPopulation):
    """A kind defined here only: no module of neuromorph knows it."""

    kind = "echo"
    process_description = process_label = "none (a test kind)"
    hardware_deployable = False
    export_keys = ()
    voltage_lsb = 1.0
    input_rows = 1
    state_bits_per_neuron = 7

    def decode_states(self, registers):
        return {"v": registers[..., 0, :].astype(float)}

    def port_scale(self, port):
        return 1.0

    def accepts(self, variable, port):
        return port == 0

    def stepper(self, n_steps=None, parallel=True):
        return RelayStepper(self.size)

    def build_lava(self, record_steps):
        raise NotImplementedError

    def lava_port(self, process, port):
        raise NotImplementedError

    def read_lava(self, process, received, n_steps, record):
        raise NotImplementedError

    def export_payload(self, writer, prefix):
        return {"neuron": None, "drive": None, "lif": None}

    @classmethod
    def read_payload(cls, data, reader, field):
        return {"initial": reader.matrix(data.initial, f"{field}.initial", data.size, rows=1)}


def _relay_network(n_steps: int = 40, n: int = 5) -> LoweredNetwork:
    target = load_target("loihi2")
    spikes = np.random.default_rng(3).random((n_steps, n)) < 0.2
    weights = quantize_weights(np.full(n, 40.0), target, name="in->relay")
    layer = LavaProjection(name="in->relay", kind="Dense", n_pre=n, n_post=n, pre=np.arange(n), post=np.arange(n),
                           weights=weights.weights, delays=np.zeros(n, np.int64), weight_exp=weights.weight_exp,
                           sign_mode=weights.sign_mode)
    projection = LoweredProjection(name="in->relay", source="in", target="R", variable="x", port=0, layers=(layer,),
                                   weights=weights, delay_steps=np.zeros(n, np.int64))
    relay = RelayPopulation(name="R", size=n, spec=None, initial=np.zeros((1, n), np.int64),
                            increment_ports={"x": 0}, initial_si={}, drive_si={})
    return LoweredNetwork(target=target.name, dt=1e-4, n_steps=n_steps, populations=(relay,),
                          projections=(projection,), sources=(LoweredSource(name="in", size=n, spikes=spikes),),
                          config=QuantConfig.for_target(target))


def test_every_kind_is_complete_and_registered_by_its_name():
    for name, cls in KINDS.items():
        assert cls.kind == name and not inspect.isabstract(cls)
        assert set(cls.export_keys) <= set(EXPORT_KEYS)
    assert set(KINDS) == {"lowered", "lif", "relay"}


def test_a_new_kind_is_one_class(monkeypatch, tmp_path):
    lowered = _relay_network()
    run = run_network(lowered).populations["R"]
    source = lowered.sources[0].spikes
    np.testing.assert_array_equal(run.spikes[1:], source[:-1])  # Dense: one step of latency
    assert not run.spikes[0].any()
    monkeypatch.setitem(KINDS, "echo", RelayPopulation)
    export_network(lowered, tmp_path)
    loaded = load_export(tmp_path)
    assert isinstance(loaded.populations[0], RelayPopulation)
    np.testing.assert_array_equal(run_network(loaded).populations["R"].spikes, run.spikes)
    resources = population_resources(loaded.populations[0], synapses_in=5, cores=1)
    assert (resources.kind, resources.state_bits_per_neuron, resources.process) == ("echo", 7, "none (a test kind)")


def _kind_branches(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """``x.kind == "lif"``-like comparisons (with any registered kind's name) in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names = {s.value for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)}
            if names & set(KINDS) and any(isinstance(s, (ast.Attribute, ast.Name)) for s in sides):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_module_outside_the_kinds_branches_on_a_kind():
    files = [p for p in PACKAGE.rglob("*.py") if "kinds" not in p.relative_to(PACKAGE).parts]
    assert [hit for path in files for hit in _kind_branches(path)] == []


def test_the_branch_check_finds_a_branch(tmp_path):
    (tmp_path / "probe.py").write_text('def f(p, kind):\n    a = p.kind == "lif"\n    return a or "lowered" != kind\n')
    assert _kind_branches(tmp_path / "probe.py", tmp_path) == ["probe.py:2", "probe.py:3"]
