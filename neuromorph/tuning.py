"""Search for the cheapest fixed-point configuration that keeps spike timing.

Formats are chosen from a range profile of the model file's own stimulus seed; every
candidate is then judged on *held-out* stimulus seeds against Brian2. All seeds run side
by side as one population (the emulator and Brian2 are vectorised across neurons, so five
seeds cost little more than one), candidates run on Dask workers (a local cluster sized to
the cores, or an existing one: :mod:`neuromorph.distributed`), and every
finished point is appended to a JSON-lines file so that an interrupted search resumes
without redoing it. The file has one writer at a time, gets whole lines only and is read
tolerantly (:mod:`neuromorph.results_file`): a killed search loses and duplicates nothing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, ClassVar, Iterable, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .distributed import dask_client
from .errors import ConfigError, InputError
from .execution.stimulus import sample_stimulus
from .execution.trace import Trace
from .fidelity import compare
from .files import read_toml_file
from .model.model_file import ModelFile
from .progress import BarFactory, no_bars
from .quantization.fixed_point import ROUNDING_MODES
from .quantization.formats import RangeProfile
from .network.benchmark import kernel_programs, with_shared_checks
from .network.comparison import candidate_trace
from .network.emulator import run_network
from .network.lower import LoweredNetwork, lower_network, reference_profile
from .network.model_network import network_of_model, run_model_brian2, run_model_reference
from .quantization.ranges import SharedChecks, shared_checks
from .quantization.quantize import FEEDBACK_KINDS, MAX_RESIDUAL_BITS, METHODS, QuantConfig, default_method
from .reference.codegen import choose_codegen
from .results_file import append_record, exclusive, read_records, repair
from .schema import Section, Seed, text, validate_file
from .targets import HardwareTarget

#: Offset of held-out stimulus seeds from the model file's seed.
HELD_OUT_OFFSET = 1000


#: Residual widths an ``error_feedback`` search tries by default (bits).
RESIDUAL_BITS = (2, 4, 6)


@dataclass(frozen=True)
class Candidate:
    """One point of the search space.

    ``residual_bits`` and ``feedback`` (comma-separated state kinds) apply to
    ``error_feedback`` only (0 and ``""`` otherwise).
    """

    state_bits: int
    lut_size: int
    interpolate: bool
    rounding: str
    residual_bits: int = 0
    feedback: str = ""

    def config(self, target: HardwareTarget, method: str = "exponential_euler") -> QuantConfig:
        """The validated quantisation config of this candidate."""
        shaping = {"residual_bits": self.residual_bits, "feedback": tuple(self.feedback.split(","))} \
            if self.rounding == "error_feedback" else {}
        return QuantConfig.for_target(target, state_bits=self.state_bits, lut_size=self.lut_size,
                                      interpolate=self.interpolate, rounding=self.rounding, method=method, **shaping)

    def key(self) -> str:
        """Stable identifier used to resume searches."""
        key = f"{self.state_bits}/{self.lut_size}/{int(self.interpolate)}/{self.rounding}"
        return key + (f"/r{self.residual_bits}/{self.feedback}" if self.rounding == "error_feedback" else "")

    @property
    def family(self) -> tuple:
        """Everything but the state bits."""
        return self.lut_size, self.interpolate, self.rounding, self.residual_bits, self.feedback


@dataclass(frozen=True)
class Benchmark:
    """Stimuli and Brian2 references for the held-out seeds, run as one population."""

    model: ModelFile
    target: HardwareTarget
    seeds: tuple[int, ...]
    profile: RangeProfile
    stimulus: np.ndarray
    reference: Trace
    window: float = 2e-3
    #: :func:`~neuromorph.quantization.ranges.structure_key` -> checks shared by the space's programs of
    #: that structure (:meth:`sharing`); empty: each configuration compiles its own kernel.
    shared: Mapping[tuple, SharedChecks] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of what a result depends on besides its candidate: stimuli, reference
        spikes, range profile, target and window (so an edited model file is not resumed)."""
        digest = hashlib.sha256(np.ascontiguousarray(self.stimulus).tobytes())
        for train in self.reference.spike_trains:
            digest.update(np.asarray(train, dtype=float).tobytes() + b"|")
        digest.update(repr((self.profile, self.target, self.window)).encode())
        return digest.hexdigest()

    #: The command that runs a configuration this benchmark chose.
    command: ClassVar[str] = "compare"

    @property
    def name(self) -> str:
        """The model's name (results are stored under it)."""
        return self.model.spec.name

    def lowered(self, candidate: Candidate) -> LoweredNetwork:
        """The candidate's one-population network, lowered (its neuron marked with the shared checks of
        its structure, when :meth:`sharing` found any)."""
        config = candidate.config(self.target, default_method(self.model.simulation.method))
        spec = network_of_model(self.model, self.stimulus)
        name = spec.populations[0].name
        lowered = lower_network(spec, None, self.target, config, method=config.method, lif="never",
                                profiles={name: self.profile})
        return with_shared_checks(lowered, self.shared)

    def sharing(self, space: Iterable[Candidate]) -> "Benchmark":
        """This benchmark with the checks the programs of ``space`` share per structure: each structure is
        then compiled once, as a kernel with runtime constants, for every configuration of it (a sweep
        over widths and table sizes compiles a kernel per rounding mode and table layout, not per point)."""
        programs = [program for candidate in space for program in kernel_programs(self.lowered(candidate))]
        return dataclasses.replace(self, shared=shared_checks(programs))

    def evaluate(self, candidate: Candidate) -> dict:
        """Fidelity of one candidate on every held-out seed (plain data, one JSON line)."""
        lowered = self.lowered(candidate)
        population = lowered.populations[0]
        run = run_network(lowered, record=False, parallel=False)
        trace = candidate_trace(run, population, lowered.dt)
        size = self.stimulus.shape[1] // len(self.seeds)
        per_seed = [compare(seed_slice(self.reference, i, size), seed_slice(trace, i, size),
                            window=self.window).to_dict() for i in range(len(self.seeds))]
        gammas = [r["gamma"] for r in per_seed]
        undefined = next((r["gamma_undefined"] for r in per_seed if r["gamma"] is None), None)
        errors = [r["spike_time_error_ms"]["mean"] for r in per_seed if r["spike_time_error_ms"]["mean"] is not None]
        return {
            "key": candidate.key(), "model": self.model.spec.name, "target": self.target.name,
            "benchmark": self.fingerprint,
            **dataclasses.asdict(candidate),
            "seeds": list(self.seeds), "gamma_per_seed": gammas,
            "gamma": None if undefined else float(np.mean(gammas)),
            "gamma_min": None if undefined else float(np.min(gammas)),
            "gamma_undefined": undefined,
            "spike_time_error_ms": float(np.mean(errors)) if errors else None,
            "table_memory_bits": population.neuron.table_memory_bits,
            "overflows": int(run.populations[population.name].overflows.sum()),
            "state_bits_per_neuron": population.neuron.state_bits_per_neuron(population.drive_si),
        }


def held_out_seeds(model: ModelFile, count: int) -> tuple[int, ...]:
    """``count`` stimulus seeds distinct from the model file's own."""
    return tuple(model.stimulus.seed + HELD_OUT_OFFSET + i for i in range(count))


def prepare_benchmark(model: ModelFile, target: HardwareTarget, seeds: Iterable[int], window: float = 2e-3,
                      progress: Callable[[str], None] = lambda m: None, bars: BarFactory = no_bars) -> Benchmark:
    """Profile on the file's seed, then run Brian2 once on all held-out seeds side by side."""
    seeds = tuple(seeds)
    sim = model.simulation  # long references (seeds x neurons x duration, repeated by every search): Cython
    codegen = choose_codegen(sim.n_steps, [model.spec.equations], short_run=sim.codegen)
    model = dataclasses.replace(model, simulation=dataclasses.replace(sim, codegen=codegen))
    progress(f"profiling run on the model's stimulus seed {model.stimulus.seed}")
    own = network_of_model(model, sample_stimulus(model.stimulus, model.simulation))
    profile = reference_profile(own, run_model_reference(model, own, bars=bars), own.populations[0].name)
    stimulus = np.concatenate([sample_stimulus(model.stimulus, model.simulation, s) for s in seeds], axis=1)
    population = dataclasses.replace(model, simulation=dataclasses.replace(model.simulation,
                                                                           neurons=stimulus.shape[1]))
    progress(f"Brian2 ({model.simulation.codegen}) references for held-out seeds {list(seeds)} "
             f"({stimulus.shape[1]} neurons)")
    reference = run_model_brian2(population, stimulus, record_v=False, bars=bars)
    return Benchmark(model=population, target=target, seeds=seeds, profile=profile, stimulus=stimulus,
                     reference=reference, window=window)


def seed_slice(trace: Trace, index: int, size: int) -> Trace:
    """The ``index``-th block of ``size`` neurons of a population run (one stimulus seed)."""
    cut = slice(index * size, (index + 1) * size)
    return dataclasses.replace(trace, spike_trains=trace.spike_trains[cut], v=trace.v[:, cut])


def evaluate(bench, candidate: Candidate) -> dict:
    """Fidelity of one candidate on a benchmark's held-out inputs (a :class:`Benchmark` of a model file,
    or a :class:`~neuromorph.network.benchmark.NetworkBenchmark`): one JSON-able record."""
    return bench.evaluate(candidate)


class Evaluator:
    """Evaluates the candidates of one benchmark on Dask workers (:mod:`neuromorph.distributed`).

    The benchmark (stimuli, references) is sent to every worker once; each candidate is one
    task, and results come back as they finish. One evaluator serves a whole search (all
    rounds of a bisection) so the cluster starts once. One local worker is this process: the
    candidates run one after the other here, without starting a cluster (a worker process
    and its nanny cost 3-4 s of start-up, more than a short sweep's points). Use as a context
    manager.
    """

    def __init__(self, bench: Benchmark, workers: int, scheduler: str | None = None):
        self.bench, self.workers, self.scheduler = bench, workers, scheduler
        self._stack: contextlib.ExitStack | None = None
        self.client = None

    def __enter__(self) -> "Evaluator":
        self._stack = contextlib.ExitStack()
        if self.scheduler is None and self.workers == 1:
            return self
        self.client = self._stack.enter_context(dask_client(self.scheduler, self.workers))
        self._bench = self.client.scatter(self.bench, broadcast=True)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def map(self, candidates: list[Candidate]) -> Iterable[dict]:
        """The record of every candidate, in the order they finish."""
        if self.client is None:
            yield from (evaluate(self.bench, candidate) for candidate in candidates)
            return
        from distributed import as_completed

        futures = [self.client.submit(evaluate, self._bench, c, pure=False, key=f"evaluate-{c.key()}-{id(self)}")
                   for c in candidates]
        for future in as_completed(futures):
            yield future.result()


class ResultRecord(BaseModel):
    """What a stored point must hold to be reused (other keys are kept as they are)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    key: str
    model: str
    target: str
    state_bits: int
    lut_size: int
    interpolate: bool
    rounding: str
    seeds: list[int]
    gamma: float | None
    gamma_min: float | None
    table_memory_bits: int
    overflows: int
    state_bits_per_neuron: int


def record_problem(record: dict) -> str | None:
    """Why a parsed line is not a usable result, or None."""
    try:
        ResultRecord.model_validate(record)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"'{where}' {'is missing' if error['type'] == 'missing' else 'is invalid: ' + error['msg']}"
    return None


def load_results(path: Path, warn: Callable[[str], None] = lambda m: None) -> dict[str, dict]:
    """Finished points of an earlier (possibly interrupted) search, by candidate key; malformed
    lines are skipped with a warning naming the line."""
    return {record["key"]: record for record in read_records(path, record_problem, warn)}


def belongs(record: dict, bench: Benchmark) -> bool:
    """Whether a stored result was measured on this benchmark (model, stimuli, target, seeds)."""
    return (record.get("model"), record.get("target"), record.get("seeds"), record.get("benchmark")) == (
        bench.name, bench.target.name, list(bench.seeds), bench.fingerprint)


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(requested: int | None, tasks: int) -> int:
    """Worker processes for ``tasks`` points: as requested, but never more than the cores or the tasks."""
    if requested is not None and requested < 1:
        raise InputError(f"must be at least 1, got {requested}", field="--workers")
    return max(1, min(requested or usable_cores(), usable_cores(), tasks))


def _compute(evaluator: Evaluator, todo: list[Candidate], results_path: Path, progress: Callable[[str], None],
             bars: BarFactory) -> Iterable[dict]:
    """Evaluate ``todo`` on the evaluator's workers, appending each record to the file as it finishes."""
    with bars(len(todo), "configurations", "config") as bar:
        for i, record in enumerate(evaluator.map(todo), 1):
            append_record(results_path, record)
            bar.update(1)
            gamma = "undefined" if record["gamma"] is None else f"{record['gamma']:.4f}"
            progress(f"[{i}/{len(todo)}] {record['key']}: Gamma {gamma}")
            yield record


def run_points(bench: Benchmark, candidates: list[Candidate], results_path: Path,
               workers: int | Evaluator | None = None, progress: Callable[[str], None] = lambda m: None,
               bars: BarFactory = no_bars) -> dict[str, dict]:
    """Evaluate candidates not yet in ``results_path`` in parallel; append each as it finishes.

    ``workers``: an :class:`Evaluator` (shared by the rounds of a search), or a number of
    local worker processes (default: one per core) for a cluster started for this call.
    The file is held exclusively while this runs (another search into it waits), a torn
    last line is repaired first and malformed lines are skipped, so every point ends up in
    the file exactly once however often a search is interrupted and resumed.
    """
    results_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(results_path, notify=progress):
        repair(results_path, progress)
        done = load_results(results_path, progress)

        def finished(candidate: Candidate) -> bool:
            record = done.get(candidate.key())
            return record is not None and belongs(record, bench)

        todo = [c for c in dict.fromkeys(candidates) if not finished(c)]
        if not todo:
            return done
        with contextlib.ExitStack() as stack:
            evaluator = workers if isinstance(workers, Evaluator) else \
                stack.enter_context(Evaluator(bench, worker_count(workers, len(todo))))
            progress(f"{len(todo)} configurations to run ({len(candidates) - len(todo)} resumed) on "
                     f"{evaluator.workers if evaluator.scheduler is None else evaluator.scheduler} workers")
            for record in _compute(evaluator, todo, results_path, progress, bars):
                done[record["key"]] = record
    return done


def search_space(target: HardwareTarget, bits: Iterable[int] | None = None, lut_sizes: Iterable[int] | None = None,
                 roundings: Iterable[str] | None = None, interpolation: Iterable[bool] = (False, True),
                 residual_bits: Iterable[int] | None = None,
                 feedback: Iterable[str] = (",".join(FEEDBACK_KINDS),)) -> list[Candidate]:
    """The grid of candidates (default: every width from 8 bits to the register width, 3 table sizes, all roundings;
    ``error_feedback`` with each residual width of ``residual_bits`` (default :data:`RESIDUAL_BITS`) and each
    set of shaped state kinds of ``feedback`` (comma-separated; default all))."""
    bits = list(bits or range(8, target.state_bits + 1))
    lut_sizes = list(lut_sizes or [s for s in (64, 256, 1024) if s <= target.lut_max_entries])
    roundings = list(roundings or target.rounding_modes)
    shaping = list(itertools.product(residual_bits or RESIDUAL_BITS, feedback))
    return [Candidate(b, s, i, r, *shape) for b, s, i, r in itertools.product(bits, lut_sizes, interpolation, roundings)
            for shape in (shaping if r == "error_feedback" else [(0, "")])]


def reaches(record: dict, min_gamma: float) -> bool:
    """Whether a point's mean Gamma is defined and meets the bar, and (networks with recurrent
    populations) their rates stay within :data:`~neuromorph.network.benchmark.RATE_TOLERANCE`."""
    from .network.benchmark import RATE_TOLERANCE

    rate_error = record.get("rate_error")
    rates_kept = rate_error is None or rate_error <= RATE_TOLERANCE
    if record["gamma"] is None:  # defined unless Gamma failed, or no population is feed-forward
        return record.get("feed_forward") == 0 and record.get("gamma_undefined") is None and rates_kept
    return record["gamma"] >= min_gamma and rates_kept


def passes(record: dict, min_gamma: float) -> bool:
    """Whether a point's mean Gamma meets the bar with no register overflow."""
    return reaches(record, min_gamma) and record["overflows"] == 0


def cost(record: dict) -> tuple:
    """What the search minimises, in order: total state bits per neuron (registers, error-feedback
    residuals and per-neuron parameters), table memory, then the register width."""
    return record["state_bits_per_neuron"], record["table_memory_bits"], record["state_bits"], record["key"]


def cheapest(results: Iterable[dict], min_gamma: float) -> dict | None:
    """Fewest total state bits per neuron, then least table memory, among points whose mean Gamma meets the bar."""
    passing = [r for r in results if passes(r, min_gamma)]
    return min(passing, key=cost, default=None)


def bisect_bits(bench: Benchmark, families: list[tuple], bits: list[int], min_gamma: float,
                results_path: Path, workers: int | Evaluator | None = None, progress=lambda m: None,
                bars: BarFactory = no_bars) -> dict[str, dict]:
    """For each family (:attr:`Candidate.family`: table, rounding and its residuals), find its fewest passing
    bits by bisection.

    Assumes fidelity does not fall when bits are added. The sweeps show that this holds
    only roughly (a family can dip by a few hundredths at one width), so a family's reported
    minimum may sit a step above its true one. All families advance together so every
    worker stays busy.
    """
    bounds = {family: (0, len(bits) - 1) for family in families}
    results = load_results(results_path)
    while True:
        probes = {}
        for family, (low, high) in bounds.items():
            if low <= high:
                probes[family] = Candidate(bits[(low + high) // 2], *family)
        if not probes:
            return results
        results = run_points(bench, list(probes.values()), results_path, workers, progress, bars)
        for family, candidate in probes.items():
            low, high = bounds[family]
            middle = (low + high) // 2
            passed = reaches(results[candidate.key()], min_gamma)
            bounds[family] = (low, middle - 1) if passed else (middle + 1, high)


def tune_search(bench: Benchmark, space: list[Candidate], min_gamma: float, results_path: Path,
                workers: int | Evaluator | None = None, progress=lambda m: None,
                bars: BarFactory = no_bars) -> dict[str, dict]:
    """:func:`search` on one cluster for every round (see :class:`Evaluator`)."""
    with contextlib.ExitStack() as stack:
        if not isinstance(workers, Evaluator):
            workers = stack.enter_context(Evaluator(bench, worker_count(workers, len(space))))
        return search(bench, space, min_gamma, results_path, workers, progress, bars)


def search(bench: Benchmark, space: list[Candidate], min_gamma: float, results_path: Path,
           workers: Evaluator, progress=lambda m: None, bars: BarFactory = no_bars) -> dict[str, dict]:
    """Find the fewest passing total state bits per neuron, then the least table memory that passes there.

    1. For each rounding mode (and, for ``error_feedback``, each residual width and set of
       shaped states), bisect the state bits with the richest table of the space (largest
       size, interpolated): the fewest bits any table can reach with that rounding.
    2. Among the points that passed in 1, those with the fewest total state bits per neuron
       (:func:`cost`: registers, residuals, per-neuron parameters) win; at their widths and
       roundings, walk the table sizes from the smallest: interpolated first; at the first
       size where one passes, the uninterpolated tables of that size too (same memory, no
       interpolation multiply).

    This assumes that a larger or interpolated table never lowers fidelity, as it assumes
    (see :func:`bisect_bits`) that more bits never do; both hold in the sweeps up to a few
    hundredths of Gamma. It needs about ``R (log2(bits) + sizes + 1)`` evaluations for ``R``
    rounding modes instead of ``R log2(bits) sizes 2``.
    """
    bits = sorted({c.state_bits for c in space})
    richest = max({(c.lut_size, c.interpolate) for c in space})
    roundings = sorted({(c.rounding, c.residual_bits, c.feedback) for c in space})
    progress(f"stage 1: fewest bits per rounding with the richest table (LUT {richest[0]}"
             f"{', interpolated' if richest[1] else ''})")
    results = bisect_bits(bench, [(*richest, *r) for r in roundings], bits, min_gamma, results_path, workers, progress,
                          bars)
    passing = _passing(results, bench, space, min_gamma)
    fewest = min((r["state_bits_per_neuron"] for r in passing), default=None)
    if fewest is None:
        return results
    winners = {(r["state_bits"], r["rounding"], r.get("residual_bits", 0), r.get("feedback", ""))
               for r in passing if r["state_bits_per_neuron"] == fewest}
    progress(f"stage 2: smallest table at {fewest} state bits per neuron with "
             f"{', '.join(f'{w[1]} at {w[0]} bits' for w in sorted(winners))}")
    at_fewest = [c for c in space if (c.state_bits, c.rounding, c.residual_bits, c.feedback) in winners]
    for size in sorted({c.lut_size for c in at_fewest}):
        of_size = [c for c in at_fewest if c.lut_size == size]
        results = run_points(bench, [c for c in of_size if c.interpolate] or of_size, results_path, workers, progress,
                             bars)
        if any(r["lut_size"] == size and r["state_bits_per_neuron"] == fewest
               for r in _passing(results, bench, space, min_gamma)):
            return run_points(bench, of_size, results_path, workers, progress, bars)
    return results


def _passing(results: dict[str, dict], bench: Benchmark, space: list[Candidate], min_gamma: float) -> list[dict]:
    """Stored results of this benchmark and search space that meet the bar without overflow."""
    keys = {c.key() for c in space}
    return [r for r in results.values() if r["key"] in keys and belongs(r, bench) and passes(r, min_gamma)]


def write_config(path: Path, target: HardwareTarget, record: dict, min_gamma: float) -> None:
    """Write the chosen point as a config file that ``neuromorph compare --config`` reads."""
    path.write_text(
        "# written by `neuromorph tune`: the cheapest configuration with mean Gamma >= "
        f"{min_gamma} on held-out stimulus seeds {record['seeds']}\n"
        "[quantization]\n"
        f'target = "{target.name}"\n'
        f"state_bits = {record['state_bits']}\n"
        f"lut_size = {record['lut_size']}\n"
        f"interpolate = {str(record['interpolate']).lower()}\n"
        f'rounding = "{record["rounding"]}"\n'
        + (f"residual_bits = {record['residual_bits']}\n"
           f"feedback = {json.dumps(record['feedback'].split(','))}\n" if record["rounding"] == "error_feedback" else "")
    )


class QuantizationSection(Section):
    """``[quantization]`` of a config file; every key optional (the target's default applies)."""

    target: text(300, min_length=1) | None = None
    state_bits: Annotated[int, Field(ge=2, le=64)] | None = None
    gate_bits: Annotated[int, Field(ge=2, le=64)] | None = None
    lut_size: Annotated[int, Field(ge=2, le=1 << 24)] | None = None
    interpolate: bool | None = None
    rounding: Literal[ROUNDING_MODES] | None = None
    seed: Seed | None = None
    headroom: Annotated[float, Field(gt=0, le=100)] | None = None
    method: Literal[METHODS] | None = None
    residual_bits: Annotated[int, Field(ge=1, le=MAX_RESIDUAL_BITS)] | None = None
    feedback: list[Literal[FEEDBACK_KINDS]] | None = None


class ConfigFile(Section):
    """A quantization config file (as written by :func:`write_config`)."""

    quantization: QuantizationSection


def read_config(path: str | Path) -> dict:
    """The settings of a ``[quantization]`` config file (as written by :func:`write_config`)."""
    data = read_toml_file(path, error=ConfigError)
    config = validate_file(ConfigFile, data, str(path), ConfigError)
    return config.quantization.model_dump(exclude_unset=True)
