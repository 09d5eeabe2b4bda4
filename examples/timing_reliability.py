"""How many voltage bits does spike timing need? Brian2 against Brian2, perturbed by an LSB.

Rounding the voltage to a ``B``-bit register perturbs it by up to half an LSB every step.
This script adds exactly such a perturbation to the float model, in Brian2 alone: an
independent current noise whose effect on ``v`` per step is uniform in ``[-LSB/2, LSB/2]``
(``I = u * LSB / (input_gain * dt)``), and measures Gamma (2 ms) against the unperturbed
run on the same held-out stimulus seeds as ``neuromorph tune``. No fixed-point code is
involved, so the result bounds what any ``B``-bit voltage register can keep: if the model
itself does not hold its spike times against that perturbation, no rounding scheme will.

Run: ``python examples/timing_reliability.py [--bits 12,14,16]``. It compares the squid
example's fluctuation-driven input with a near-rheobase input (mean 5, sigma 3 uA/cm^2).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from neuromorph.execution.stimulus import sample_stimulus
from neuromorph.fidelity import compare
from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import frac_bits_for
from neuromorph.quantization.quantize import QuantConfig
from neuromorph.network.model_network import run_model_brian2
from neuromorph.reference.codegen import choose_codegen
from neuromorph.tuning import held_out_seeds, seed_slice

EXAMPLE = Path(__file__).resolve().parent / "squid_hh.toml"
UA_PER_CM2 = 1e-2  # A/m^2
#: (label, mean, sigma) in uA/cm^2; tau stays the example's.
REGIMES = (("example: fluctuation-driven", None, None), ("near rheobase", 5.0, 3.0))
PERTURBATION_SEED = 12345


def population(model, mean: float | None, sigma: float | None, seeds: tuple[int, ...]):
    """The model with the regime's input, as one population over the held-out seeds, and its stimulus."""
    stimulus_config = model.stimulus
    if mean is not None:
        stimulus_config = dataclasses.replace(stimulus_config, mean=mean * UA_PER_CM2, sigma=sigma * UA_PER_CM2)
    stimulus = np.concatenate([sample_stimulus(stimulus_config, model.simulation, s) for s in seeds], axis=1)
    simulation = dataclasses.replace(model.simulation, neurons=stimulus.shape[1],
                                     codegen=choose_codegen(model.simulation.n_steps, [model.spec.equations],
                                                            short_run=model.simulation.codegen))
    return dataclasses.replace(model, stimulus=stimulus_config, simulation=simulation), stimulus


def voltage_lsb(reference_v_abs: float, bits: int) -> float:
    """LSB of the voltage register neuromorph would choose at ``bits`` (same headroom rule as quantize)."""
    headroom = QuantConfig.__dataclass_fields__["headroom"].default
    return 2.0 ** -frac_bits_for(reference_v_abs * headroom, bits)


def per_seed_gamma(reference, perturbed, n_seeds: int) -> list[float]:
    size = len(reference.spike_trains) // n_seeds
    return [compare(seed_slice(reference, i, size), seed_slice(perturbed, i, size), window=2e-3).gamma
            for i in range(n_seeds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", default="12,14,16", help="voltage register widths (default 12,14,16)")
    parser.add_argument("--seeds", type=int, default=5, help="held-out stimulus seeds (default 5)")
    args = parser.parse_args()
    bits = [int(b) for b in args.bits.split(",")]
    base = load_model(EXAMPLE)
    seeds = held_out_seeds(base, args.seeds)
    rng = np.random.default_rng(PERTURBATION_SEED)
    print("| input | rate (Hz) | " + " | ".join(f"Gamma, +-LSB/2 at {b} bits" for b in bits) + " |")
    print("|---|---|" + "---|" * len(bits))
    for label, mean, sigma in REGIMES:
        model, stimulus = population(base, mean, sigma, seeds)
        reference = run_model_brian2(model, stimulus)
        rate = np.mean([len(s) for s in reference.spike_trains]) / reference.duration
        v_abs = max(abs(reference.v.min()), abs(reference.v.max()), abs(model.spec.threshold.value))
        cells = []
        for b in bits:
            kick = rng.uniform(-0.5, 0.5, stimulus.shape) * voltage_lsb(v_abs, b)
            perturbed = run_model_brian2(model, stimulus + kick / (model.spec.stimulus.gain * model.simulation.dt), record_v=False)
            gammas = per_seed_gamma(dataclasses.replace(reference, v=reference.v[:, :0]), perturbed, len(seeds))
            cells.append(f"{np.mean(gammas):.4f} (worst {np.min(gammas):.4f})")
        label = label if mean is None else f"{label} (mean {mean:g}, sigma {sigma:g} uA/cm^2)"
        print(f"| {label} | {rate:.1f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
