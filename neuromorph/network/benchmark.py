"""A network file as a search benchmark: held-out network seeds, their Brian2 references, the bar.

``neuromorph tune`` and ``neuromorph sweep`` take a network file as well as a model file.
The held-out inputs of a network are its draws under other seeds (``load_network_file(path,
seed=...)``: connectivity, weights, delays, initial values, Poisson spikes and sampled
currents drawn anew); the formats come from the ranges of the file's own seed, as a model
file's come from its own stimulus. Every candidate configuration is lowered for every
held-out seed and run on the network emulator, and judged per population:

* a population driven **feed-forward** (on no cycle of projections) by spike timing: its
  mean Gamma over neurons (:func:`neuromorph.fidelity.compare`); the record's ``gamma`` is
  the mean over seeds of the mean over these populations;
* a **recurrent** population diverges spike by spike even in float, so it is judged by its
  firing rate: ``rate_error`` is the largest relative difference of a recurrent
  population's mean rate from Brian2's over seeds, and a point meets the bar only while it is
  at most :data:`RATE_TOLERANCE`.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Iterable, Mapping

import numpy as np

from ..fidelity import compare as fidelity_compare
from ..quantization.formats import RangeProfile
from ..quantization.ranges import SharedChecks, shared_checks, structure_key
from ..targets import HardwareTarget
from .comparison import candidate_trace, recurrent_populations
from .emulator import run_network
from .ir import NetworkSpec
from .kinds.lowered import LoweredProgramPopulation
from .lower import LoweredNetwork, check_network_fits, lower_network, recorded_variables, reference_profile
from .network_file import load_network_file
from .reference import NetworkTrace, Recording, replay_sources, run_network_brian2

#: Largest relative difference of a recurrent population's mean rate from Brian2's that meets the bar.
RATE_TOLERANCE = 0.1
#: Offset of held-out network seeds from the file's seed.
HELD_OUT_OFFSET = 1000


def kernel_programs(lowered: LoweredNetwork) -> list[tuple]:
    """(program, tables, constants) of every population of ``lowered`` that runs an integer program."""
    return [(p.neuron.program, [t.entries for t in p.neuron.tables], p.neuron.constants)
            for p in lowered.populations if isinstance(p, LoweredProgramPopulation)]


def with_shared_checks(lowered: LoweredNetwork, shared: Mapping[tuple, SharedChecks]) -> LoweredNetwork:
    """``lowered`` with each program population's neuron marked with the checks its structure shares in
    ``shared`` (:func:`~neuromorph.quantization.ranges.shared_checks`): its compiled kernel then takes its
    immediates at run time and serves every configuration of that structure."""
    def marked(population):
        if not isinstance(population, LoweredProgramPopulation):
            return population
        checks = shared.get(structure_key(population.neuron.program))
        return population if checks is None else replace(population,
                                                          neuron=replace(population.neuron, shared_checks=checks))

    return replace(lowered, populations=tuple(marked(p) for p in lowered.populations)) if shared else lowered


def held_out_network_seeds(spec: NetworkSpec, count: int) -> tuple[int, ...]:
    """``count`` network seeds distinct from the file's own (0 when it has none)."""
    return tuple((spec.seed or 0) + HELD_OUT_OFFSET + i for i in range(count))


def _reference(spec: NetworkSpec, codegen: str | None, bars) -> tuple[NetworkSpec, NetworkTrace]:
    """Brian2 on ``spec`` (recording what the lowering reads) and ``spec`` with its Poisson sources replayed."""
    reference = run_network_brian2(spec, codegen=codegen, record=Recording(variables=recorded_variables(spec)),
                                   bars=bars)
    return replay_sources(spec, reference), reference


@dataclass(frozen=True)
class NetworkBenchmark:
    """Held-out draws of a network with their Brian2 references, and the ranges of the file's own draw."""

    name: str
    target: HardwareTarget
    seeds: tuple[int, ...]
    specs: tuple[NetworkSpec, ...]
    references: tuple[NetworkTrace, ...]
    profiles: dict
    window: float = 2e-3
    #: Checks shared per program structure by the configurations of a search (:meth:`sharing`).
    shared: Mapping[tuple, SharedChecks] = field(default_factory=dict)
    #: The command that runs a configuration this benchmark chose.
    command: ClassVar[str] = "network"

    @functools.cached_property
    def recurrent(self) -> dict[str, bool]:
        """Whether each population lies on a cycle of projections."""
        return recurrent_populations(self.specs[0])

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of what a result depends on besides its candidate: reference spikes, sampled
        inputs, ranges, target and window (so an edited network file is not resumed)."""
        digest = hashlib.sha256()
        for spec, reference in zip(self.specs, self.references):
            for population in reference.populations.values():
                for train in population.spike_trains:
                    digest.update(np.asarray(train, dtype=float).tobytes() + b"|")
            for current in spec.current_sources:
                digest.update(np.ascontiguousarray(current.values).tobytes())
        digest.update(repr((sorted(self.profiles.items()), self.target, self.window)).encode())
        return digest.hexdigest()

    def lowered(self, candidate, draw: int = 0) -> LoweredNetwork:
        """Held-out draw ``draw`` lowered for ``candidate`` (with the shared checks of :meth:`sharing`)."""
        lowered = lower_network(self.specs[draw], self.references[draw], self.target, candidate.config(self.target),
                                profiles=self.profiles)
        return with_shared_checks(lowered, self.shared)

    def sharing(self, space: Iterable) -> "NetworkBenchmark":
        """This benchmark with the checks the configurations of ``space`` share per program structure (every
        draw lowers to the same programs: the ranges are the file's own draw's; each program runs once per draw)."""
        programs = [program for candidate in space for program in kernel_programs(self.lowered(candidate))]
        return replace(self, shared=shared_checks(programs, runs_each=len(self.specs)))

    def evaluate(self, candidate) -> dict:
        """One candidate on every held-out draw (plain data, one JSON line)."""
        gammas, rate_errors, memory, state_bits, overflows, undefined = [], [], 0, 0, 0, None
        for draw, (spec, reference) in enumerate(zip(self.specs, self.references)):
            lowered = self.lowered(candidate, draw)
            run = run_network(lowered, record=False, parallel=False)
            seed_gammas = []
            for population in lowered.network_populations:
                trace, own = candidate_trace(run, population, spec.dt), reference.trace(population.name)
                if self.recurrent[population.name]:
                    rate, own_rate = trace.mean_rate_hz, own.mean_rate_hz
                    rate_errors.append(abs(rate - own_rate) / own_rate if own_rate else (0.0 if rate == 0 else np.inf))
                    continue
                fidelity = fidelity_compare(own, trace, window=self.window)
                undefined = undefined or fidelity.gamma_undefined
                seed_gammas.append(fidelity.gamma)
            gammas.append(None if None in seed_gammas or not seed_gammas else float(np.mean(seed_gammas)))
            memory = sum(p.table_memory_bits for p in lowered.network_populations)
            state_bits = max(p.state_bits_per_neuron for p in lowered.network_populations)
            overflows += int(sum(int(r.overflows.sum()) for r in run.populations.values()))
        feed_forward = sum(not recurrent for recurrent in self.recurrent.values())
        defined = None not in gammas and feed_forward > 0
        return {"key": candidate.key(), "model": self.name, "target": self.target.name,
                "benchmark": self.fingerprint, **asdict(candidate), "seeds": list(self.seeds),
                "gamma_per_seed": gammas, "gamma": float(np.mean(gammas)) if defined else None,
                "gamma_min": float(np.min(gammas)) if defined else None, "gamma_undefined": undefined,
                "rate_error": float(np.max(rate_errors)) if rate_errors else None, "feed_forward": feed_forward,
                "spike_time_error_ms": None, "table_memory_bits": memory, "overflows": overflows,
                "state_bits_per_neuron": state_bits}


def prepare_network_benchmark(path: str | Path, target: HardwareTarget, count: int, window: float = 2e-3,
                              codegen: str | None = None, progress=lambda m: None, bars=None) -> NetworkBenchmark:
    """Ranges from the file's own draw, then Brian2 on ``count`` held-out draws (each run once)."""
    from ..progress import no_bars

    bars = bars or no_bars
    own = load_network_file(path)
    check_network_fits(own, target)
    progress(f"profiling run on the network's own seed {own.seed}")
    own_spec, own_reference = _reference(own, codegen, bars)
    profiles: dict[str, RangeProfile] = {p.name: reference_profile(own_spec, own_reference, p.name)
                                         for p in own_spec.populations}
    seeds = held_out_network_seeds(own, count)
    progress(f"Brian2 references for held-out network seeds {list(seeds)}")
    runs = [_reference(load_network_file(path, seed=seed), codegen, bars) for seed in seeds]
    return NetworkBenchmark(name=Path(path).stem, target=target, seeds=seeds, specs=tuple(s for s, _ in runs),
                            references=tuple(r for _, r in runs), profiles=profiles, window=window)
