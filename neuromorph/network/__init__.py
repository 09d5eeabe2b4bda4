"""Networks: populations, sources and projections exported to Lava process graphs, and their fidelity.

The entry points a script uses::

    from neuromorph.network import from_brian2, compare, build_lava, load_lava
    spec = from_brian2(net, duration=1 * second)      # the objects of a Brian2 script
    report = compare(spec, target="loihi2", backend="both")   # the report `neuromorph network` writes
    graph = build_lava(spec, "loihi2")                 # connected Lava processes to keep working with
    graph = load_lava("out/export")                    # the same graph from `neuromorph export` files

Heavy modules (Brian2, Lava) are imported when a function is called, not with the package.
"""
from __future__ import annotations


def from_brian2(*objects, **kwargs):
    """The :class:`~neuromorph.network.ir.NetworkSpec` of built Brian2 objects (see :mod:`.brian2_import`)."""
    from .brian2_import import from_brian2 as convert

    kwargs.setdefault("level", 0)
    kwargs["level"] += 1  # names are resolved in the caller's frame, as Brian2 does
    return convert(*objects, **kwargs)


def _target(target):
    from ..targets import load_target

    return load_target(target) if isinstance(target, str) else target


def compare(spec, target="loihi2", backend: str = "emulator", config=None, floor: bool = True, **options) -> dict:
    """Run ``spec`` in Brian2 and in fixed point on ``target`` and return the network report (plain data).

    ``backend``: ``"emulator"``, ``"lava"`` or ``"both"`` (then Lava is checked against the
    emulator, every spike and state); ``config``: a :class:`~neuromorph.quantization.quantize.QuantConfig`
    (default: the target's); ``floor``: also measure the float model's own divergence.
    """
    from .compare import NetworkOptions, build_report, compare as run

    target = _target(target)
    result = run(spec, target, config, NetworkOptions(backend=backend, floor=floor, **options))
    return build_report(result)


def build_lava(spec, target="loihi2", config=None, record_steps: int = 0):
    """The connected Lava processes of ``spec`` lowered for ``target``: a :class:`~neuromorph.lava.graph.LavaGraph`.

    Runs the Brian2 reference once (the range profiles and the Poisson realisations come from
    it); run the graph with ``graph.any_process().run(condition, run_cfg=graph.run_config())``.
    """
    from ..quantization.quantize import QuantConfig
    from ..lava.graph import build_graph
    from .lower import check_network_fits, lower_network, recorded_variables
    from .reference import Recording, replay_sources, run_network_brian2

    target = _target(target)
    check_network_fits(spec, target)
    reference = run_network_brian2(spec, record=Recording(variables=recorded_variables(spec)))
    lowered = lower_network(replay_sources(spec, reference), reference, target,
                            config or QuantConfig.for_target(target))
    return build_graph(lowered, record_steps=record_steps)


def load_lava(directory, record_steps: int = 0):
    """The Lava graph of a network exported by ``neuromorph export`` (no Brian2 run)."""
    from .export import load_lava as load

    return load(directory, record_steps=record_steps)


__all__ = ["build_lava", "compare", "from_brian2", "load_lava"]
