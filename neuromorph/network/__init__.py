"""Networks: populations, sources and projections exported to Lava process graphs, and their fidelity.

The entry points a script uses::

    from neuromorph.network import from_brian2, compare, build_lava, load_lava
    spec = from_brian2(net, duration=1 * second)      # the objects of a Brian2 script
    report = compare(spec, target="loihi2", state_bits=16)    # options of `neuromorph network`; a NetworkReport
    graph = build_lava(spec, "loihi2")                 # connected Lava processes to keep working with
    graph = load_lava("out/export")                    # the same graph from `neuromorph export` files

Heavy modules (Brian2, Lava) are imported when a function is called, not with the package.
"""
from __future__ import annotations

from ..errors import InputError


def from_brian2(*objects, **kwargs):
    """The :class:`~neuromorph.network.ir.NetworkSpec` of built Brian2 objects (see :mod:`.brian2_import`)."""
    from .brian2_import import from_brian2 as convert

    kwargs.setdefault("level", 0)
    kwargs["level"] += 1  # names are resolved in the caller's frame, as Brian2 does
    return convert(*objects, **kwargs)


def _target(target):
    from ..targets import load_target

    return load_target(target) if isinstance(target, str) else target


def check_before_run(spec, target) -> None:
    """What the lowering would refuse after the Brian2 reference, refused before it: delays beyond the
    target, equations the lowering cannot hold, effects on gates (errors name ``populations.NAME``)."""
    from .lower import check_network_fits
    from .network_file import check_effects

    check_network_fits(spec, target)
    check_effects(spec, None)


def compare(spec, **options):
    """Run ``spec`` in Brian2 and in fixed point and return the report (:class:`~neuromorph.report.NetworkReport`).

    ``options`` are those of ``set_device('neuromorph', ...)`` and ``neuromorph network``
    (:mod:`neuromorph.run_options`): ``target="loihi2"``, ``state_bits=16``, ``rounding=...``,
    ``backend="emulator" | "lava" | "both"`` (then Lava is checked against the emulator, every
    spike and state), ``floor=False``, ``window=2`` (ms), ``config="tuned.toml"``, ...
    """
    from ..report import NetworkReport
    from ..run_options import resolve_options
    from .comparison import build_report, compare as run

    if options.get("reference", True) is not True:
        raise InputError("compare always runs the reference (reference=True)", "compare", "reference")
    resolved = resolve_options(options).for_network(spec)
    check_before_run(spec, resolved.target)
    result = run(spec, resolved.target, resolved.config, resolved.network, method=resolved.method)
    return NetworkReport(build_report(result), result)


def build_lava(spec, target="loihi2", config=None, record_steps: int = 0):
    """The connected Lava processes of ``spec`` lowered for ``target``: a :class:`~neuromorph.lava.graph.LavaGraph`.

    Runs the Brian2 reference once (the range profiles and the Poisson realisations come from
    it); run the graph with ``graph.any_process().run(condition, run_cfg=graph.run_config())``.
    """
    from ..quantization.quantize import QuantConfig
    from ..lava.graph import build_graph
    from .lower import lower_network, recorded_variables
    from .reference import Recording, replay_sources, run_network_brian2

    target = _target(target)
    check_before_run(spec, target)
    reference = run_network_brian2(spec, record=Recording(variables=recorded_variables(spec)))
    lowered = lower_network(replay_sources(spec, reference), reference, target,
                            config or QuantConfig.for_target(target))
    return build_graph(lowered, record_steps=record_steps)


def load_lava(directory, record_steps: int = 0):
    """The Lava graph of a network exported by ``neuromorph export`` (no Brian2 run)."""
    from .export import load_lava as load

    return load(directory, record_steps=record_steps)


__all__ = ["build_lava", "compare", "from_brian2", "load_lava"]
