"""Network statistics on a recurrent E/I network, in Brian2 alone: rounding the voltage against its floor.

A Brunel (2000) network of leaky integrate-and-fire neurons (800 excitatory, 200 inhibitory,
connection probability 0.1, J = 0.5 mV, g = 6, delay 1.5 ms, external Poisson drive at twice
the threshold rate: irregular firing near 45 Hz, ISI CV ~ 0.6, with a population rhythm near
90 Hz; v in mV, dimensionless in Brian2) runs three times on the same input:

* reference: float64;
* candidate: the voltage rounded to a grid of ``LSB`` after every step (what a fixed-point
  voltage register does, without any other quantisation);
* floor: float64 with an independent uniform kick in ``[-LSB/2, LSB/2]`` added to the voltage
  every step (the size of the candidate's rounding error, but unbiased and random).

The network is chaotic, so neither the candidate nor the floor keeps the reference's spike
times for long; the statistics show whether the candidate moves the activity more than a
perturbation of one LSB does anyway.

Run: ``python examples/network_statistics.py [--out DIR] [--duration S]``; writes
``DIR/activity.png``, ``DIR/statistics_<pop>.png`` and ``DIR/report.json``, prints a table.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import brian2 as b2
import numpy as np

from neuromorph.network.plots import plot_activity, plot_statistics
from neuromorph.network.statistics import StatisticsConfig, population_statistics

N_E, N_I = 800, 200
DT = 0.1e-3
LSB_MV = 2.0 ** -6
SEED = 2024  # network, initial state and external input
PERTURBATION_SEED = 7  # the floor's kicks


def run(duration: float, mode: str) -> dict:
    """Spike trains (s) per population of one run; ``mode`` is reference, candidate or floor.

    Connectivity, initial potentials, the external Poisson counts and the floor's kicks are drawn
    beforehand from numpy generators, so all runs see the same input: Brian2's own generator
    (``PoissonInput``, ``rand()``) would draw a different stream as soon as one spike moves.
    """
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.second
    n, steps = N_E + N_I, int(round(duration / DT))
    tau, theta, v_reset, delay, j, g = 20e-3, 20.0, 10.0, 1.5e-3, 0.5, 6.0
    rng = np.random.default_rng(SEED)
    sources, targets = np.nonzero(rng.uniform(size=(n, n)) < 0.1)
    drive_rate = 2.0 * theta / (j * 0.1 * N_E * tau)  # Hz per external source, 0.1 N_E sources
    drive = b2.TimedArray(rng.poisson(0.1 * N_E * drive_rate * DT, (steps, n)).astype(float), dt=DT * b2.second)
    neurons = b2.NeuronGroup(n, "dv/dt = -v / tau : 1 (unless refractory)", threshold=f"v > {theta}",
                             reset=f"v = {v_reset}", refractory=2 * b2.ms, method="exact",
                             namespace={"tau": tau * b2.second})
    neurons.v = rng.uniform(0, theta, n)
    synapses = b2.Synapses(neurons, neurons, "w : 1", on_pre="v += w", delay=delay * b2.second)
    synapses.connect(i=sources, j=targets)
    synapses.w = np.where(sources < N_E, j, -g * j)
    objects = [neurons, synapses, neurons.run_regularly(f"v += {j} * drive(t, i)", when="synapses")]
    namespace = {"drive": drive}
    if mode == "candidate":
        objects.append(neurons.run_regularly(f"v = floor(v / {LSB_MV} + 0.5) * {LSB_MV}", when="after_thresholds"))
    if mode == "floor":
        kicks = np.random.default_rng(PERTURBATION_SEED).uniform(-0.5, 0.5, (steps, n)) * LSB_MV
        namespace["kick"] = b2.TimedArray(kicks, dt=DT * b2.second)
        objects.append(neurons.run_regularly("v += kick(t, i)", when="after_thresholds"))
    monitor = b2.SpikeMonitor(neurons)
    b2.Network(*objects, monitor).run(duration * b2.second, namespace=namespace)
    trains = monitor.spike_trains()
    times = [np.asarray(trains[i] / b2.second) for i in range(n)]
    return {"E": tuple(times[:N_E]), "I": tuple(times[N_E:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/network_statistics", help="output directory")
    parser.add_argument("--duration", type=float, default=1.0, help="run length in s (default 1)")
    args = parser.parse_args()
    out = Path(args.out)
    runs = {mode: run(args.duration, mode) for mode in ("reference", "candidate", "floor")}
    labels = ("brian2 float", "v rounded to 2^-6 mV", "float + LSB kicks")
    config = StatisticsConfig(divergence_window_s=0.02)  # the network diverges within tens of ms
    report, panels = {}, []
    for name in ("E", "I"):
        stats = population_statistics(runs["reference"][name], runs["candidate"][name], args.duration, DT,
                                      floor=runs["floor"][name], config=config, name=name, labels=labels)
        report[name] = stats.to_dict()
        panels.append((stats, runs["reference"][name], runs["candidate"][name]))
        plot_statistics(stats, out / f"statistics_{name}.png")
        print(f"\n{name}: | statistic | {labels[1]} | {labels[2]} |\n|---|---|---|")
        for row in stats.summary():
            cells = ["-" if row[k] is None else f"{row[k]:.4g}" for k in ("candidate", "floor")]
            print(f"| {row['statistic']} | {cells[0]} | {cells[1]} |")
    plot_activity(panels, out / "activity.png", title="Brunel E/I network: float reference | voltage rounded")
    (out / "report.json").write_text(json.dumps(report, allow_nan=False, indent=1))
    print(f"\nwrote {out}/activity.png, statistics_E.png, statistics_I.png, report.json")


if __name__ == "__main__":
    main()
