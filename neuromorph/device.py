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
reference on Brian2's runtime device (unless ``reference=False``), lowers the network for
the target, runs it (emulator and/or Lava) and fills the script's monitors, state variables and
clocks from the fixed-point run (:mod:`neuromorph.device_fill`).
"""
from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

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


def run_with_reference(spec, options: RunOptions, progress) -> FixedPointOutcome:
    """The comparison pipeline (:func:`neuromorph.network.comparison.compare`) and its report."""
    from .network.comparison import build_report, compare

    result = compare(spec, options.target, options.config, options.network, progress=progress, method=options.method)
    _check_lava(result.lava_check)
    return FixedPointOutcome(result.lowered, result.candidate, NetworkReport(build_report(result), result))


def run_fixed_point_only(spec, options: RunOptions, progress) -> FixedPointOutcome:
    """One float run for the lowering's ranges and the sources' spikes, then the fixed-point network only."""
    from .network.comparison import check_lava
    from .network.emulator import run_network
    from .network.lower import lower_network, recorded_variables
    from .network.reference import Recording, replay_sources, run_network_brian2

    progress(f"Brian2 run for the ranges: {spec.summary()}")
    reference = run_network_brian2(spec, codegen=options.network.codegen,
                                   record=Recording(variables=recorded_variables(spec)))
    lowered = lower_network(replay_sources(spec, reference), reference, options.target, options.config, options.method,
                            lif=options.network.lif, relays=options.network.relays)
    backend, record = options.network.backend, options.network.record
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
        with runtime_device():
            outcome = (run_with_reference if options.reference else run_fixed_point_only)(
                conversion.spec, options, progress)
        fill_monitors(conversion, outcome.lowered, outcome.candidate)
        set_final_states(conversion.groups, outcome.lowered, outcome.candidate, conversion.t0)
        advance_clocks(net, top_level(net.objects), float(net.t_) + float(duration))
        self.report = outcome.report
        net.after_run()
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
