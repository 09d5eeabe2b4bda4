"""What a lowered network needs on its target: neurons, synapses, memories, operations, cores and chips.

:func:`resource_report` counts, from a :class:`~neuromorph.network.lower.LoweredNetwork` and
its :class:`~neuromorph.targets.HardwareTarget`:

* per population: neurons, the Lava process that runs them (hardware-deployable: Lava's own
  ``LIF``, kind ``"lif"``; simulation only: neuromorph's custom ``LoweredNeuron``, kind
  ``"lowered"``), state bits per neuron, lookup-table memory (one copy per core that hosts
  the population), operations per neuron-step by kind
  (:meth:`~neuromorph.quantization.program.Program.operation_counts`) and per step
  (times the neurons);
* per projection: synapses (as Lava holds them, one per layer entry), synaptic memory
  ``S * (weight_bits + delay_bits)`` with ``weight_bits`` the target's mantissa and
  ``delay_bits = bit_length(max_delay_steps)`` for the synapses of delayed Lava processes
  (0 otherwise), and delay-buffer slots ``(max_delay + 1) * n_post`` per Lava process;
* relays (kind ``"relay"``, :mod:`neuromorph.network.relays`; ``infrastructure``): the neurons that
  carry spikes over delays longer than a synapse holds are populations and projections like the
  others, and the totals also give them apart (``relay_neurons``, ``relay_synapses`` into them,
  ``relay_cores``);
* cores: each population is split into equal contiguous blocks, one per core, as few as the
  target's ``[cores]`` limits allow (:func:`map_cores`): neurons per core, synaptic memory of
  the synapses into a core, fan-in (distinct presynaptic neurons, sources included, whose
  synapses a core holds: its input axons) and fan-out (distinct (neuron, destination core)
  pairs of a core's neurons: its output axons); spike sources are fed from off the neuron
  cores and take none. Chips: ``ceil(cores / cores_per_chip)``.

A network that needs more than one chip is refused (:class:`ResourceError`) unless
``allow_multichip``; one that no split can map (a single neuron with more presynaptic
neurons or synapse bits than a core holds, tables larger than a core's table memory) is
always refused, naming the population and the limit.

Assumptions (see ``hw_targets/README.md``): a custom neuron takes one neuron slot of a core
whatever its state width; synapses into a core from the same presynaptic neuron share one
input axon; populations do not share cores.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError, NeuromorphError
from .kinds import LoweredPopulation
from .lava_semantics import PROCESS_KINDS
from .lower import LoweredNetwork, LoweredProjection

#: Most rounds of core splitting before giving up (each round adds at least one core).
MAX_ROUNDS = 10_000


class ResourceError(InputError):
    """The network does not fit the target (or the target declares no per-core limits)."""


@dataclass(frozen=True)
class PopulationResources:
    """One population's needs (bits, operations per step, cores)."""

    name: str
    kind: str
    process: str
    hardware_deployable: bool
    neurons: int
    state_bits_per_neuron: int
    table_memory_bits: int
    operations_per_neuron_step: dict
    operations_per_step: int
    synapses_in: int
    cores: int
    infrastructure: bool = False


@dataclass(frozen=True)
class ProjectionResources:
    """One projection's synapses and memories."""

    name: str
    source: str
    target: str
    processes: tuple
    synapses: int
    zero_weights: int
    weight_bits: int
    delay_bits: int
    synaptic_memory_bits: int
    delay_buffer_slots: int
    max_delay_steps: int
    weight_exp: int
    sign_mode: str
    weight_error_max_lsb: float
    weight_error_max_relative: float
    clipped_weights: int
    zeroed_weights: int = 0


@dataclass(frozen=True)
class CoreMap:
    """Cores per population and the largest use of each per-core resource over all cores."""

    cores: dict
    neurons: int
    synapse_memory_bits: int
    fan_in: int
    fan_out: int
    table_memory_bits: int

    @property
    def total(self) -> int:
        """Cores of the whole network."""
        return sum(self.cores.values())


@dataclass(frozen=True)
class ResourceReport:
    """Everything :func:`resource_report` counts (see the module docstring)."""

    target: str
    limits: dict
    populations: tuple
    projections: tuple
    sources: dict
    core_map: CoreMap
    chips: int
    fits_one_chip: bool

    @property
    def totals(self) -> dict:
        """Sums over the network."""
        pops, projs = self.populations, self.projections
        return {
            "neurons": sum(p.neurons for p in pops),
            "hardware_neurons": sum(p.neurons for p in pops if p.hardware_deployable),
            "simulation_only_neurons": sum(p.neurons for p in pops if not p.hardware_deployable),
            "synapses": sum(p.synapses for p in projs),
            "relay_neurons": sum(p.neurons for p in pops if p.infrastructure),
            "relay_synapses": sum(p.synapses_in for p in pops if p.infrastructure),
            "relay_cores": sum(p.cores for p in pops if p.infrastructure),
            "synaptic_memory_bits": sum(p.synaptic_memory_bits for p in projs),
            "delay_buffer_slots": sum(p.delay_buffer_slots for p in projs),
            "table_memory_bits": sum(p.table_memory_bits * p.cores for p in pops),
            "operations_per_step": sum(p.operations_per_step for p in pops),
            "cores": self.core_map.total,
            "chips": self.chips,
        }

    def to_dict(self) -> dict:
        """Plain data (JSON)."""
        return {"target": self.target, "limits": dict(self.limits), "totals": self.totals,
                "fits_one_chip": self.fits_one_chip, "populations": [asdict(p) for p in self.populations],
                "projections": [asdict(p) for p in self.projections], "sources": dict(self.sources),
                "core_map": asdict(self.core_map)}


# ----------------------------------------------------------------------------------------
# Counting
# ----------------------------------------------------------------------------------------

def delay_bits(target) -> int:
    """Bits of one synaptic delay on ``target``: enough for ``0 .. max_delay_steps``."""
    return max(1, int(target.max_delay_steps).bit_length())


def _layer_bits(layer, target) -> int:
    """Bits per synapse of one Lava process: the weight mantissa, plus the delay if the process has delays."""
    return target.weight_bits + (delay_bits(target) if PROCESS_KINDS[layer.kind].delayed else 0)


def projection_resources(projection: LoweredProjection, target) -> ProjectionResources:
    """Synapses, synaptic memory and delay buffers of one projection."""
    layers = projection.layers
    delayed = any(PROCESS_KINDS[layer.kind].delayed for layer in layers)
    return ProjectionResources(
        name=projection.name, source=projection.source, target=projection.target,
        processes=tuple(layer.kind for layer in layers), synapses=sum(layer.n_synapses for layer in layers),
        zero_weights=sum(int(np.count_nonzero(np.asarray(layer.weights) == 0)) for layer in layers),
        weight_bits=target.weight_bits, delay_bits=delay_bits(target) if delayed else 0,
        synaptic_memory_bits=sum(layer.n_synapses * _layer_bits(layer, target) for layer in layers),
        delay_buffer_slots=sum((layer.max_delay + 1) * layer.n_post for layer in layers),
        max_delay_steps=max((layer.max_delay for layer in layers), default=0),
        weight_exp=projection.weights.weight_exp, sign_mode=projection.weights.sign_mode,
        weight_error_max_lsb=projection.weights.error.max_abs,
        weight_error_max_relative=projection.weights.error.max_rel, clipped_weights=projection.weights.n_clipped,
        zeroed_weights=projection.weights.n_zeroed)


def population_resources(population: LoweredPopulation, synapses_in: int, cores: int) -> PopulationResources:
    """Neurons, process, state, tables and operations of one population (``cores`` from :func:`map_cores`).

    The process, state bits, tables and operations are the population kind's
    (:mod:`neuromorph.network.kinds`).
    """
    counts = population.operation_counts()
    return PopulationResources(
        name=population.name, kind=population.kind, process=population.process_label,
        hardware_deployable=population.hardware_deployable, neurons=population.size,
        state_bits_per_neuron=population.state_bits_per_neuron, table_memory_bits=population.table_memory_bits,
        operations_per_neuron_step=counts, operations_per_step=sum(counts.values()) * population.size,
        synapses_in=synapses_in, cores=cores, infrastructure=population.infrastructure)


# ----------------------------------------------------------------------------------------
# Cores
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Synapses:
    """Every synapse of the network: global presynaptic id, target population, postsynaptic neuron, bits."""

    pre: np.ndarray
    population: np.ndarray
    post: np.ndarray
    bits: np.ndarray
    n_pre_ids: int
    pre_population: np.ndarray  # population index of each global id (-1: a source, off the cores)
    pre_neuron: np.ndarray      # index within its group of each global id


def _synapses(lowered: LoweredNetwork, target) -> _Synapses:
    groups = [(p.name, p.size) for p in lowered.populations] + [(s.name, s.size) for s in lowered.sources]
    offsets = dict(zip((g[0] for g in groups), np.cumsum([0] + [g[1] for g in groups[:-1]]).tolist()))
    index = {p.name: k for k, p in enumerate(lowered.populations)}
    parts = [(layer.pre + offsets[p.source], np.full(layer.n_synapses, index[p.target]), layer.post,
              np.full(layer.n_synapses, _layer_bits(layer, target)))
             for p in lowered.projections for layer in p.layers]
    pre, population, post, bits = (np.concatenate([part[k] for part in parts]).astype(np.int64) if parts
                                   else np.zeros(0, np.int64) for k in range(4))
    owner = np.concatenate([np.full(size, index.get(name, -1)) for name, size in groups]) if groups else np.zeros(0)
    local = np.concatenate([np.arange(size) for _, size in groups]) if groups else np.zeros(0)
    return _Synapses(pre=pre, population=population, post=post, bits=bits, n_pre_ids=int(sum(g[1] for g in groups)),
                     pre_population=owner.astype(np.int64), pre_neuron=local.astype(np.int64))


def _usage(syn: _Synapses, sizes: np.ndarray, block: np.ndarray) -> dict:
    """Per-core use for populations split into blocks of ``block`` neurons (core ids population by population)."""
    counts = -(-sizes // block)
    base = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    n_cores = int(counts.sum())
    core = base[syn.population] + syn.post // block[syn.population]
    pairs = np.unique(syn.pre * n_cores + core)
    pre, pair_core = pairs // n_cores, pairs % n_cores
    owner = syn.pre_population[pre]
    on_core = owner >= 0
    source_core = base[owner[on_core]] + syn.pre_neuron[pre[on_core]] // block[owner[on_core]]
    neurons = np.concatenate([np.minimum(block[k], sizes[k] - block[k] * np.arange(counts[k]))
                              for k in range(len(sizes))]) if len(sizes) else np.zeros(0, np.int64)
    return {"counts": counts, "base": base, "neurons": neurons,
            "synapse_memory_bits": np.bincount(core, weights=syn.bits, minlength=n_cores).astype(np.int64),
            "fan_in": np.bincount(pair_core, minlength=n_cores), "fan_out": np.bincount(source_core, minlength=n_cores)}


#: Per-core resource -> the CoreLimits field that bounds it.
LIMITS = {"synapse_memory_bits": "synapse_memory_bits_per_core", "fan_in": "fan_in_per_core",
          "fan_out": "fan_out_per_core"}


def _worst_ratio(usage: dict, limits, k: int) -> tuple[float, str]:
    """Largest use / limit over the cores of population ``k``, and which resource it is."""
    cores = slice(usage["base"][k], usage["base"][k] + usage["counts"][k])
    ratios = {name: float(usage[name][cores].max(initial=0)) / getattr(limits, limit) for name, limit in LIMITS.items()}
    name = max(ratios, key=ratios.get)
    return ratios[name], name


def _unmappable(population: LoweredPopulation, resource: str, usage: dict, limits, k: int) -> ResourceError:
    cores = slice(usage["base"][k], usage["base"][k] + usage["counts"][k])
    worst = int(usage[resource][cores].max())
    return ResourceError(f"population {population.name!r} cannot be mapped even with one neuron per core: a neuron "
                         f"needs {resource.replace('_', ' ')} {worst:,} > {getattr(limits, LIMITS[resource]):,} "
                         f"(cores.{LIMITS[resource]})", None, f"populations.{population.name}")


def _check_tables(lowered: LoweredNetwork, limits) -> None:
    for population in lowered.populations:
        bits = population.table_memory_bits
        if bits > limits.table_memory_bits_per_core:
            raise ResourceError(f"population {population.name!r} needs {bits:,} bits of lookup tables; a core holds "
                                f"{limits.table_memory_bits_per_core:,} (cores.table_memory_bits_per_core): use a "
                                "smaller --lut-size or fewer --gate-bits", None, f"populations.{population.name}")


def map_cores(lowered: LoweredNetwork, target) -> CoreMap:
    """Equal contiguous blocks (one core each) per population within every per-core limit.

    A greedy estimate, not an optimal placement. Starts from the neuron limit and the
    synaptic memory; while a core exceeds a limit, its population is split further (in
    proportion to the excess); splitting a population lowers the fan-in, synaptic memory
    and fan-out of its cores but raises the fan-out of the cores that project to it, hence
    the rounds.
    """
    limits = _limits(target)
    _check_tables(lowered, limits)
    syn = _synapses(lowered, target)
    sizes = np.array([p.size for p in lowered.populations], dtype=np.int64)
    bits_in = np.bincount(syn.population, weights=syn.bits, minlength=len(sizes))
    cores = np.maximum(-(-sizes // limits.neurons_per_core),
                       np.ceil(bits_in / limits.synapse_memory_bits_per_core).astype(np.int64)).clip(1, None)
    block = -(-sizes // np.minimum(cores, sizes))
    for _ in range(MAX_ROUNDS):
        usage = _usage(syn, sizes, block)
        grown = False
        for k, population in enumerate(lowered.populations):
            ratio, resource = _worst_ratio(usage, limits, k)
            if ratio > 1:
                if block[k] == 1:
                    raise _unmappable(population, resource, usage, limits, k)
                block[k] = max(1, min(block[k] - 1, math.floor(block[k] / ratio)))
                grown = True
        if not grown:
            return _core_map(lowered, usage)
    raise NeuromorphError(f"core mapping did not settle in {MAX_ROUNDS} rounds")


def _core_map(lowered: LoweredNetwork, usage: dict) -> CoreMap:
    tables = [p.table_memory_bits for p in lowered.populations]
    return CoreMap(cores={p.name: int(c) for p, c in zip(lowered.populations, usage["counts"])},
                   neurons=int(usage["neurons"].max(initial=0)),
                   synapse_memory_bits=int(usage["synapse_memory_bits"].max(initial=0)),
                   fan_in=int(usage["fan_in"].max(initial=0)), fan_out=int(usage["fan_out"].max(initial=0)),
                   table_memory_bits=int(max(tables, default=0)))


def _limits(target):
    if target.cores is None:
        raise ResourceError(f"target {target.name} declares no per-core limits; add a [cores] section "
                            "(hw_targets/README.md)", target.source, "cores")
    return target.cores


def resource_report(lowered: LoweredNetwork, target, allow_multichip: bool = False) -> ResourceReport:
    """Count what ``lowered`` needs on ``target`` (see the module docstring).

    Raises
    ------
    ResourceError
        The target has no ``[cores]`` section; the network cannot be mapped onto its cores
        at all; or it needs more than one chip and ``allow_multichip`` is False.
    """
    core_map = map_cores(lowered, target)
    limits = target.cores
    projections = tuple(projection_resources(p, target) for p in lowered.projections)
    synapses_in = {p.name: sum(q.synapses for q in projections if q.target == p.name) for p in lowered.populations}
    populations = tuple(population_resources(p, synapses_in[p.name], core_map.cores[p.name])
                        for p in lowered.populations)
    chips = max(1, math.ceil(core_map.total / limits.cores_per_chip))
    if chips > 1 and not allow_multichip:
        raise ResourceError(f"the network needs {core_map.total} cores ({_core_text(core_map)}); a {target.name} chip "
                            f"has {limits.cores_per_chip}: allow {chips} chips (allow_multichip, --multichip) or "
                            "make the network smaller", target.source, "cores.cores_per_chip")
    sources = {s.name: {"size": s.size, "spikes": int(np.count_nonzero(s.spikes))} for s in lowered.sources}
    return ResourceReport(target=target.name, limits=asdict(limits), populations=populations, projections=projections,
                          sources=sources, core_map=core_map, chips=chips, fits_one_chip=chips == 1)


def _core_text(core_map: CoreMap) -> str:
    return ", ".join(f"{name} {count}" for name, count in core_map.cores.items())


# ----------------------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------------------

def _operations_text(counts: dict) -> str:
    if not counts:
        return "fixed-function LIF"
    return f"{sum(counts.values())} (" + ", ".join(f"{kind} {n}" for kind, n in counts.items()) + ")"


def _population_rows(report: ResourceReport) -> list[str]:
    rows = ["| population | kind | Lava process | neurons | state bits/neuron | table bits | operations/neuron-step "
            "| operations/step | synapses in | cores |", "|---|---|---|---|---|---|---|---|---|---|"]
    rows += [f"| {p.name} | {p.kind} | {p.process} | {p.neurons:,} | {p.state_bits_per_neuron} | "
             f"{p.table_memory_bits:,} | {_operations_text(p.operations_per_neuron_step)} | "
             f"{p.operations_per_step:,} | {p.synapses_in:,} | {p.cores} |" for p in report.populations]
    return rows


def _projection_rows(report: ResourceReport) -> list[str]:
    rows = ["| projection | Lava processes | synapses | bits/synapse (weight + delay) | synaptic memory bits | "
            "delay buffer slots | weight exp, sign | max weight error (LSB, relative) |",
            "|---|---|---|---|---|---|---|---|"]
    rows += [f"| {p.name} ({p.source} -> {p.target}) | {', '.join(p.processes)} | {p.synapses:,} | "
             f"{p.weight_bits} + {p.delay_bits} | {p.synaptic_memory_bits:,} | {p.delay_buffer_slots:,} | "
             f"{p.weight_exp}, {p.sign_mode} | {p.weight_error_max_lsb:.3g}, {p.weight_error_max_relative:.2%} |"
             for p in report.projections]
    rows += [f"projection {p.name}: {p.clipped_weights} weights clipped, {p.zeroed_weights} nonzero weights "
             "quantised to 0" for p in report.projections if p.clipped_weights or p.zeroed_weights]
    return rows


def format_report(report: ResourceReport) -> str:
    """The report as markdown tables and a summary, for people."""
    t, c, limits = report.totals, report.core_map, report.limits
    lines = [f"resources on {report.target}:", *_population_rows(report), "", *_projection_rows(report), ""]
    relays = (f", {t['relay_neurons']:,} relay neurons for long delays ({t['relay_synapses']:,} synapses, "
              f"{t['relay_cores']} cores)") if t["relay_neurons"] else ""
    lines += [f"neurons {t['neurons']:,} ({t['hardware_neurons']:,} in Lava processes Loihi 2 runs, "
              f"{t['simulation_only_neurons']:,} in simulation-only custom processes{relays}); sources "
              + (", ".join(f"{name} {v['size']} trains" for name, v in report.sources.items()) or "none"),
              f"synapses {t['synapses']:,}; synaptic memory {t['synaptic_memory_bits']:,} bits; delay buffers "
              f"{t['delay_buffer_slots']:,} slots; lookup tables {t['table_memory_bits']:,} bits (one copy per core); "
              f"{t['operations_per_step']:,} neuron operations per step",
              f"cores {c.total} ({_core_text(c)}); busiest core: {c.neurons:,}/{limits['neurons_per_core']:,} neurons, "
              f"{c.synapse_memory_bits:,}/{limits['synapse_memory_bits_per_core']:,} synapse bits, fan-in "
              f"{c.fan_in:,}/{limits['fan_in_per_core']:,}, fan-out {c.fan_out:,}/{limits['fan_out_per_core']:,}, "
              f"tables {c.table_memory_bits:,}/{limits['table_memory_bits_per_core']:,} bits",
              f"chips {report.chips} ({limits['cores_per_chip']} cores each): "
              + ("fits one chip" if report.fits_one_chip else "needs several chips")]
    return "\n".join(lines)
