"""The Brian2 device ``'neuromorph'``: an unchanged Brian2 script run in fixed point.

Importing :mod:`neuromorph` registers the device in Brian2's device registry
(``brian2.devices.device.all_devices``); a script then needs two added lines::

    from brian2 import *
    import neuromorph                                             # added
    set_device('neuromorph', target='loihi2', state_bits=16)      # added
    ...                                                           # the script as it was
    run(1 * second)                                               # monitors hold the fixed-point run
    print(neuromorph.last_report().table())                       # Brian2 float vs fixed point

On ``run()`` the device converts the network's objects (:mod:`neuromorph.device_convert`:
everything it cannot lower is refused there, before any simulation), runs the float Brian2
reference on Brian2's runtime device (with ``reference=False`` a float profile of the first
steps only: :func:`run_fixed_point_only`), lowers the network for the target, runs it
(emulator and/or Lava) and fills the script's monitors, state variables and clocks from the
fixed-point run (:mod:`neuromorph.device_fill`).
"""
from __future__ import annotations

import math
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
from brian2.core.namespace import get_local_namespace
from brian2.devices.device import RuntimeDevice, all_devices, reset_device, set_device

from .cli.options import log
from .device_convert import convert, top_level
from .device_fill import advance_clocks, fill_monitors, set_final_states
from .errors import NeuromorphError, OverflowDetected
from .report import NetworkReport
from .run_options import RunOptions, cli_arguments, option_help, resolve_options
from .schema import MAX_SEED

DEVICE_NAME = "neuromorph"


def _silent(message: str) -> None:
    """Progress messages of a run without ``report=``."""


@contextmanager
def runtime_device():
    """Brian2's runtime device for the float runs inside ``run()`` (or their own ``run()`` re-enters this device)."""
    set_device("runtime")
    try:
        yield
    finally:
        reset_device()


@dataclass(frozen=True)
class FixedPointOutcome:
    """What a run produced: the lowered network, the fixed-point run, the report (None without reference)."""

    lowered: object
    candidate: object
    report: NetworkReport | None


def _check_lava(check) -> None:
    if check is not None and not check.match:
        raise NeuromorphError(f"Lava graph and emulator disagree: {check.populations}")


def run_with_reference(spec, options: RunOptions, progress, with_candidate=None) -> FixedPointOutcome:
    """The comparison pipeline (:func:`neuromorph.network.comparison.compare`, which calls ``with_candidate``
    as soon as the fixed-point run exists) and its report."""
    from .network.comparison import build_report, compare

    result = compare(spec, options.target, options.config, options.network, progress=progress, method=options.method,
                     with_candidate=with_candidate)
    _check_lava(result.lava_check)
    return FixedPointOutcome(result.lowered, result.candidate, NetworkReport(build_report(result), result))


#: Share of the run's steps the fixed-point-only path simulates in float for the lowering's ranges
#: (:func:`profile_steps`), and the fewest steps it simulates (20 ms at dt = 0.1 ms): the profile costs
#: Brian2 (numpy) about 1 % of the run's steps, whatever the run's length. Ranges the profile misses show as
#: overflows of the fixed-point run, which then runs again with wider ones.
PROFILE_FRACTION = 0.01
PROFILE_MIN_STEPS = 200
#: Times the fixed-point-only path doubles the ranges of an overflowing population's linear states again
#: (:func:`widened`) before it takes the ranges from a float run of every step instead.
WIDENINGS = 2


def profile_steps(n_steps: int) -> int:
    """Steps of the float profile of a fixed-point-only run of ``n_steps`` steps: the first
    ``max(PROFILE_MIN_STEPS, PROFILE_FRACTION * n_steps)``, all of them for a short run."""
    return min(n_steps, max(PROFILE_MIN_STEPS, math.ceil(PROFILE_FRACTION * n_steps)))


def drawn_sources(spec):
    """``spec`` with every Poisson source replaced by the spikes it emits in a Brian2 run of the Poisson sources
    alone, seeded as the script's run (the same spikes as in a run of the whole network when nothing else in
    it draws random numbers; the same spikes on every run with the same seed in any case)."""
    from .network.ir import PoissonSource
    from .network.reference import replay_sources, run_network_brian2

    poisson = tuple(s for s in spec.sources if isinstance(s, PoissonSource))
    if not poisson:
        return spec
    alone = replace(spec, populations=(), projections=(), sources=poisson)
    return replay_sources(spec, run_network_brian2(alone, codegen="numpy", record=None))


def overflowed(candidate) -> dict[str, int]:
    """Values that did not fit their fixed-point format in a network run, per population (those with any)."""
    counts = {name: int(np.asarray(run.overflows).sum()) for name, run in candidate.populations.items()}
    return {name: count for name, count in counts.items() if count}


def widened(profile, factor: float = 2.0):
    """``profile`` with the range of every linear state (synaptic conductances and currents, adaptation: what grows
    with a network's activity, unlike a voltage or a gate) stretched away from 0 by ``factor``."""
    states = {name: (min(low, low * factor), max(high, high * factor)) for name, (low, high) in profile.states.items()}
    return replace(profile, states=states)


def lower_and_run(spec, reference, options: RunOptions, profiles=None, record=None) -> FixedPointOutcome:
    """The network lowered with the ranges of ``reference`` (of ``profiles`` for the populations it names) and run
    on the chosen backend (no report); the emulator keeps the registers of ``record``'s neurons only (population ->
    neuron indices; None: as ``options`` say)."""
    from .network.comparison import check_lava
    from .network.emulator import run_network
    from .network.lower import lower_network

    lowered = lower_network(spec, reference, options.target, options.config, options.method,
                            lif=options.network.lif, relays=options.network.relays, profiles=profiles)
    backend = options.network.backend
    record = options.network.record if record is None or backend != "emulator" else record
    lava_run = None
    if backend in ("lava", "both"):
        from .lava.graph import start_graph  # Lava is imported only when it is used

        lava_run = start_graph(lowered, record=record)
    with lava_run or nullcontext():  # the emulator runs while Lava steps
        candidate = run_network(lowered, record=record) if backend in ("emulator", "both") else None
    if lava_run is not None:
        lava = lava_run.finish()
        _check_lava(check_lava(candidate, lava) if candidate is not None else None)
        candidate = candidate or lava
    return FixedPointOutcome(lowered, candidate, None)


def run_fixed_point_only(spec, options: RunOptions, progress, record=None) -> FixedPointOutcome:
    """The fixed-point network alone, its formats from the ranges of a short float run; on the emulator, the
    registers of ``record``'s neurons kept (population -> neuron indices, what the StateMonitors record; None: as
    ``options`` say).

    The Poisson sources' spikes come from a Brian2 run of the sources alone (:func:`drawn_sources`);
    the ranges from a Brian2 run of the network's first :func:`profile_steps` steps, those of the
    linear states doubled (:func:`widened`: a network's activity, and with it its synaptic
    conductances and currents, may grow after the first steps). When the
    fixed-point run then counts a value that did not fit (the run reached beyond the profile's
    ranges), the ranges of the linear states of the populations that overflowed are doubled and
    the network is run again, up to :data:`WIDENINGS` times (the fixed-point run is the cheap
    part); then, if values still do not fit, the network is lowered with the ranges of a Brian2
    run of every step, as with ``reference=True``, and run again. Overflows that remain are
    reported on stderr (and raise :class:`~neuromorph.errors.OverflowDetected` with ``strict``).
    """
    from .network.lower import recorded_variables, reference_profile
    from .network.reference import Recording, run_network_brian2

    spec = drawn_sources(spec)
    recording = Recording(variables=recorded_variables(spec))
    steps = profile_steps(spec.n_steps)
    progress(f"Brian2 run of the first {steps} of {spec.n_steps} steps for the ranges: {spec.summary()}")
    profile = with_spec_sources(run_network_brian2(spec, codegen=options.network.codegen, record=recording,
                                                   n_steps=steps), spec)
    own = {p.name for p in spec.populations}  # not the relays the lowering adds
    short = steps < spec.n_steps
    profiles = {name: widened(reference_profile(spec, profile, name)) for name in own} if short else {}
    outcome = lower_and_run(spec, profile, options, profiles or None, record)
    for _ in range(WIDENINGS if short else 0):
        over = overflowed(outcome.candidate)
        wider = {name: widened(profiles[name]) for name in over if name in own}
        if all(wider[name] == profiles[name] for name in wider):  # nothing to widen (ranges of 0, relays)
            break
        progress(f"values beyond the ranges of the first {steps} steps ({over}): the linear states' ranges of "
                 "those populations doubled, and the fixed-point run again")
        profiles = {**profiles, **wider}
        outcome = lower_and_run(spec, profile, options, profiles, record)
    over = overflowed(outcome.candidate)
    if short and over:
        progress(f"values beyond the ranges of the first {steps} steps ({over}): "
                 f"Brian2 run of all {spec.n_steps} steps for the ranges, and the fixed-point run again")
        reference = run_network_brian2(spec, codegen=options.network.codegen, record=recording)
        outcome = lower_and_run(spec, reference, options, record=record)
    remaining = overflowed(outcome.candidate)
    if remaining:
        message = f"the fixed-point run overflowed (values per population: {remaining})"
        if options.strict:
            raise OverflowDetected(message)
        print(f"neuromorph: warning: {message}; the monitors hold the run with them", file=sys.stderr, flush=True)
    return outcome


def with_spec_sources(trace, spec):
    """``trace`` with the spike sources of ``spec`` (all of them spike times) over the whole run, for the lowering's
    rasters: a trace of the first steps only holds the spikes of those."""
    return replace(trace, sources=MappingProxyType({s.name: s for s in spec.spike_sources}))


def neuromorph_excepthook(exc_type, exc, traceback, previous=sys.__excepthook__):
    """An uncaught :class:`NeuromorphError` as one line on stderr (not Brian2's bug-report banner, and
    Brian2 then deletes its debug log at exit as after a clean run); anything else to ``previous``."""
    if isinstance(exc, NeuromorphError):
        print(f"neuromorph: error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        return None
    return previous(exc_type, exc, traceback)


def install_excepthook() -> None:
    """Put :func:`neuromorph_excepthook` in front of the current ``sys.excepthook`` (Brian2's), once."""
    if getattr(sys.excepthook, "neuromorph", False):
        return
    previous = sys.excepthook

    def hook(exc_type, exc, traceback):
        return neuromorph_excepthook(exc_type, exc, traceback, previous)

    hook.neuromorph = True
    sys.excepthook = hook


def _option_list() -> str:
    return "\n".join(f"    {name}: {text}" for name, text in option_help().items())


class NeuromorphDevice(RuntimeDevice):
    """Brian2's runtime device, except that ``run()`` runs the network in fixed point.

    ``set_device('neuromorph', **options)`` takes the options of ``neuromorph network``
    (``neuromorph network --help``; dashes written as underscores, the same defaults and
    checks, one resolver :func:`neuromorph.run_options.resolve_options`) and ``reference``.
    The list is filled in below from the CLI's own parser.

    After ``run(duration)`` (the magic network's or ``Network.run``):

    - every ``SpikeMonitor`` (``i``, ``t``, ``count``, ``spike_trains()``), ``StateMonitor``
      (state variables decoded to SI, recorded at the start of each step as Brian2 does) and
      ``PopulationRateMonitor`` holds the fixed-point run, subgroups included;
    - every group's state variables hold the fixed-point state after the run, and a second
      ``run()`` continues from there (``lastspike`` and ``not_refractory`` included: a neuron
      refractory at the end of one run still is at the start of the next);
    - Poisson spikes and the run's random numbers come from the script's random stream
      (``seed(1)`` makes two runs identical);
    - with ``reference=True`` :attr:`report` (and :func:`neuromorph.last_report`) holds the
      fidelity report of the run (:class:`~neuromorph.report.NetworkReport`).

    ``store()``/``restore()`` are Brian2's own (they save and set the state variables, which
    the next run reads). Whatever cannot be lowered raises a
    :class:`~neuromorph.errors.InputError` naming the Brian2 object before anything runs.

    Options
    -------
    {options}
    """

    def __init__(self):
        super().__init__()
        #: The report of the last run (None before a run or with ``reference=False``).
        self.report = None

    def activate(self, build_on_run=True, **kwargs):
        """Check the options' names, types and values, and show neuromorph's errors as one line."""
        super().activate(build_on_run=build_on_run, **kwargs)
        install_excepthook()
        cli_arguments(kwargs)  # after Brian2 made this the device: a run with these options is refused too

    def network_run(self, net, duration, report=None, report_period=None, namespace=None, profile=None, level=0,
                    **kwds):
        """Run ``net`` for ``duration`` in fixed point (see the class docstring)."""
        options = resolve_options(self.build_options)
        if namespace is None:
            namespace = get_local_namespace(level + 2)  # this frame, Brian2's device_override wrapper, the caller
        progress = log if report is not None else _silent
        seed = int(np.random.randint(0, MAX_SEED))  # the script's stream: seed(1) gives the same run
        conversion = convert(net, float(duration), seed, namespace, options.target, options.noise)
        options = options.for_network(conversion.spec, record=conversion.records_states
                                      or options.network.backend != "emulator")

        def finish_brian2_run(lowered, candidate) -> None:
            """Brian2's side of the run: monitors, final states, clocks and ``after_run`` (with ``backend="both"``
            while Lava still steps: Brian2's ``gc.collect`` in ``after_run`` takes 0.13-0.15 s here)."""
            fill_monitors(conversion, lowered, candidate)
            set_final_states(conversion.groups, lowered, candidate, conversion.t0)
            advance_clocks(net, top_level(net.objects), float(net.t_) + float(duration))
            net.after_run()

        with runtime_device():
            if options.reference:
                outcome = run_with_reference(conversion.spec, options, progress, finish_brian2_run)
            else:
                outcome = run_fixed_point_only(conversion.spec, options, progress, conversion.state_neurons())
        if not options.reference:
            finish_brian2_run(outcome.lowered, outcome.candidate)
        self.report = outcome.report
        if options.strict and outcome.report is not None and outcome.report.problems:
            raise OverflowDetected("; ".join(f"{what}: {detail}" for what, detail in outcome.report.problems.items()))


NeuromorphDevice.__doc__ = NeuromorphDevice.__doc__.replace("{options}", _option_list().strip())


def register() -> NeuromorphDevice:
    """The device registered as ``'neuromorph'`` in Brian2's registry (registered once)."""
    if not isinstance(all_devices.get(DEVICE_NAME), NeuromorphDevice):
        all_devices[DEVICE_NAME] = NeuromorphDevice()
    return all_devices[DEVICE_NAME]


def last_report() -> NetworkReport | None:
    """The report of the last ``run()`` on the ``'neuromorph'`` device (None before one or with ``reference=False``)."""
    return register().report
