"""Resource report: counts checked against a small network computed by hand, core splitting under tight
per-core limits, and the refusals (several chips, unmappable, no [cores] section)."""
import numpy as np
import pytest

from neuromorph.errors import TargetFileError
from neuromorph.lava.build import lava_projection
from neuromorph.network.lava_lif import lava_lif
from neuromorph.network.kinds import LavaLifPopulation, LoweredPopulation, LoweredProgramPopulation
from neuromorph.network.lower import LoweredNetwork, LoweredProjection, LoweredSource
from neuromorph.network.resources import ResourceError, format_report, resource_report
from neuromorph.network.weights import quantize_weights
from neuromorph.quantization.builder import LutGrid, Table
from neuromorph.quantization.program import Op, Port, Program, Register
from neuromorph.quantization.quantize import QuantConfig, QuantizedNeuron
from neuromorph.targets import load_target, targets_dir


def _program() -> Program:
    """9 operations: one each of register read, constant, table address, table read, multiply, shift, add,
    saturate/wrap, compare. Registers of 24 and 16 bits."""
    ops = (Op("load", 0, imm=(0, 0)), Op("const", 1, imm=(0,)), Op("index", 2, (0,), (0, 4, 16)),
           Op("read", 3, (2,), (0, 0)), Op("mul", 4, (0, 3), operand_width=24, overflow="wrap"),
           Op("shr", 5, (4,), (8,), site=0), Op("add", 6, (5, 1), overflow="wrap"),
           Op("fit", 7, (6,), width=24, overflow="saturate"), Op("gt", 8, (7, 1)))
    registers = (Register("v", "voltage", 24, 10, 0, "saturate", "volt"),
                 Register("g", "linear", 16, 10, 0, "wrap", "siemens"))
    return Program(ops=ops, registers=registers, ports=(Port("g_in", "increment", "g", 24, 0, 1.0),),
                   outputs=(7, 0), fits=(7, -1), spike=8, rounding="nearest", seed=0, n_sites=1, table_names=("t",))


def _lowered_population(name: str, n: int, target) -> LoweredPopulation:
    table = Table("t", np.zeros(16, np.int64), 8, 12, True, LutGrid(0, 4, 16, False), "v")  # 16 x 12 = 192 bits
    neuron = QuantizedNeuron(name="fake", target=target.name, config=QuantConfig.for_target(target), dt=1e-4,
                             program=_program(), tables=(table,), constants=np.zeros(1, np.int64),
                             initial=np.zeros(2, np.int64), datapath={})
    return LoweredProgramPopulation(name=name, size=n, spec=None, neuron=neuron, initial=np.zeros((2, n), np.int64),
                                    drive=np.zeros((0, n), np.int64), increment_ports={"g": 0}, initial_si={},
                                    drive_si={})


def _lif_population(name: str, n: int) -> LoweredPopulation:
    return LavaLifPopulation(name=name, size=n, spec=None, initial=None, increment_ports={"I": 0}, initial_si={},
                             drive_si={}, lif=lava_lif(n, du=100, dv=100, vth=100, name=name))


def _projection(name, source, target_name, pre, post, n_pre, n_post, delays, target) -> LoweredProjection:
    weights = quantize_weights(np.full(len(pre), 50.0), target, name=name)
    layer = lava_projection(pre, post, n_pre, n_post, weights, delays, target=target, name=name)
    return LoweredProjection(name=name, source=source, target=target_name, variable="g", port=0, layers=(layer,),
                             weights=weights, delay_steps=np.asarray(delays))


def network(target) -> LoweredNetwork:
    """S (4 trains) -> A (6 LIF neurons) one to one; A -> B (3 lowered neurons) all to all, delays 0, 1, 2."""
    pre, post = np.meshgrid(np.arange(6), np.arange(3), indexing="ij")
    pre, post = pre.ravel(), post.ravel()
    projections = (
        _projection("S_to_A", "S", "A", np.arange(4), np.arange(4), 4, 6, np.zeros(4, np.int64), target),
        _projection("A_to_B", "A", "B", pre, post, 6, 3, pre % 3, target),
    )
    return LoweredNetwork(target=target.name, dt=1e-4, n_steps=10,
                          populations=(_lif_population("A", 6), _lowered_population("B", 3, target)),
                          projections=projections, sources=(LoweredSource("S", 4, np.eye(10, 4, dtype=bool)),),
                          config=QuantConfig.for_target(target))


def tight_target(tmp_path, cores: dict):
    """loihi2 with other [cores] limits."""
    text = (targets_dir() / "loihi2.toml").read_text().split("[cores]")[0]
    text += "[cores]\n" + "\n".join(f"{key} = {value}" for key, value in cores.items()) + "\n"
    path = tmp_path / "tight.toml"
    path.write_text(text)
    return load_target(path)


TIGHT = dict(cores_per_chip=4, neurons_per_core=4, synapse_memory_bits_per_core=100, fan_in_per_core=6,
             fan_out_per_core=6, table_memory_bits_per_core=1000)


def test_counts_match_the_hand_computation():
    target = load_target("loihi2")  # 8-bit weights, delays up to 63 steps: 6 bits
    report = resource_report(network(target), target)
    a, b = report.populations
    s_to_a, a_to_b = report.projections
    assert (a.kind, a.hardware_deployable, a.neurons, a.operations_per_step) == ("lif", True, 6, 0)
    assert (b.kind, b.hardware_deployable, b.neurons) == ("lowered", False, 3)
    assert b.state_bits_per_neuron == 24 + 16 and a.state_bits_per_neuron == 24 + 24
    assert sum(b.operations_per_neuron_step.values()) == 9 and b.operations_per_step == 27
    assert b.operations_per_neuron_step["multiply"] == 1 and b.table_memory_bits == 16 * 12
    assert (s_to_a.synapses, s_to_a.synaptic_memory_bits, s_to_a.delay_buffer_slots) == (4, 4 * 8, 1 * 6)
    assert (a_to_b.synapses, a_to_b.delay_bits, a_to_b.synaptic_memory_bits) == (18, 6, 18 * (8 + 6))
    assert a_to_b.delay_buffer_slots == (2 + 1) * 3 and a_to_b.processes == ("DelayDense",)
    totals = report.totals
    assert (totals["neurons"], totals["hardware_neurons"], totals["simulation_only_neurons"]) == (9, 6, 3)
    assert (totals["synapses"], totals["synaptic_memory_bits"], totals["delay_buffer_slots"]) == (22, 284, 15)
    assert (totals["cores"], report.chips, report.fits_one_chip) == (2, 1, True)
    assert (b.synapses_in, a.synapses_in) == (18, 4)
    core = report.core_map
    assert (core.neurons, core.synapse_memory_bits, core.fan_in, core.fan_out) == (6, 252, 6, 6 * 1)


def test_tight_limits_split_the_populations_as_computed_by_hand(tmp_path):
    """B: 252 synapse bits > 100 -> 3 cores of one neuron (84 bits, fan-in 6 each). A: 6 neurons > 4 per core -> blocks
    of 3, each neuron reaching 3 B cores: fan-out 9 > 6 -> blocks of 2 (fan-out 6): 3 cores. 6 cores > 4 per chip."""
    target = tight_target(tmp_path, TIGHT)
    report = resource_report(network(target), target, allow_multichip=True)
    core = report.core_map
    assert core.cores == {"A": 3, "B": 3}
    assert (core.neurons, core.synapse_memory_bits, core.fan_in, core.fan_out) == (2, 6 * 14, 6, 2 * 3)
    assert (report.chips, report.fits_one_chip) == (2, False)
    assert report.totals["table_memory_bits"] == 3 * 192  # a copy of B's tables in each of its cores
    text = format_report(report)
    assert "needs several chips" in text and "| B | lowered |" in text


def test_several_chips_are_refused_unless_allowed(tmp_path):
    target = tight_target(tmp_path, TIGHT)
    expected = r"tight.toml:cores.cores_per_chip: the network needs 6 cores \(A 3, B 3\).*has 4: allow 2 chips"
    with pytest.raises(ResourceError, match=expected):
        resource_report(network(target), target)


@pytest.mark.parametrize("change, message", [
    (dict(fan_in_per_core=5), "population 'B' cannot be mapped even with one neuron per core: a neuron needs fan in 6 "
                              "> 5 \\(cores.fan_in_per_core\\)"),
    (dict(synapse_memory_bits_per_core=80), "population 'B' .* synapse memory bits 84 > 80"),
    (dict(table_memory_bits_per_core=191), "population 'B' needs 192 bits of lookup tables"),
])
def test_what_no_split_can_map_is_refused_even_on_many_chips(tmp_path, change, message):
    target = tight_target(tmp_path, {**TIGHT, **change})
    with pytest.raises(ResourceError, match=message):
        resource_report(network(target), target, allow_multichip=True)


def test_a_target_without_cores_is_refused_by_name(tmp_path):
    path = tmp_path / "nocores.toml"
    path.write_text((targets_dir() / "loihi2.toml").read_text().split("[cores]")[0])
    target = load_target(path)
    assert target.cores is None
    with pytest.raises(ResourceError, match=r"nocores.toml:cores: target loihi2 declares no per-core limits"):
        resource_report(network(target), target)


@pytest.mark.parametrize("name", ["loihi2", "loihi1", "generic16"])
def test_shipped_targets_declare_their_cores(name):
    cores = load_target(name).cores
    assert cores is not None and cores.neurons_per_core >= 1024 and cores.cores_per_chip >= 1


@pytest.mark.parametrize("line, key", [
    ("neurons_per_core = 0", "cores.neurons_per_core"),
    ("fan_in_per_core = 4.5", "cores.fan_in_per_core"),
    ("axons = 3", "cores.axons"),
])
def test_invalid_cores_keys_are_refused_by_key(tmp_path, line, key):
    text = (targets_dir() / "loihi2.toml").read_text()
    name = line.split(" =")[0]
    lines = [entry for entry in text.splitlines() if not entry.startswith(f"{name} =")]
    cores = lines.index(next(entry for entry in lines if entry.startswith("[cores]")))
    lines.insert(cores + 1, line)  # inside [cores], whatever section follows it
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TargetFileError, match=key):
        load_target(path)
