"""Fidelity of every example model at a target's defaults, as a Markdown table for the README.

Usage: python examples/fidelity_table.py [--target loihi2] [--state-bits N] [--backend emulator]
       [--codegen cython] [--out out/examples]
Each model runs through `neuromorph compare` (Brian2 reference, float and fixed-point
emulators, optionally Lava); the table lists Gamma (2 ms), spike-time errors and rates.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from neuromorph.cli import main as neuromorph

EXAMPLES = Path(__file__).resolve().parent
MODELS = ["squid_hh", "squid_hh_18C", "hh_ghk", "hh_kir_pump", "traub_miles"]


def row(report: dict) -> str:
    error = report["spike_time_error_ms"]
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    return (f"| {report['model']} | {report['simulation']['dt_ms']:g} ms, {report['config']['method']} | "
            f"{report['config']['state_bits']}, {report['config']['rounding']} | "
            f"{report['rates_hz']['reference']:.1f} | {report['gamma']:.4f} | {report['gamma_min']:.4f} | "
            f"{fmt(error['mean'])} / {fmt(error['median'])} / {fmt(error['max'])} | "
            f"{report['missed_spikes']} / {report['extra_spikes']} | {report['error_split']['algorithm']['gamma']:.4f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="loihi2")
    parser.add_argument("--backend", default="emulator", choices=("emulator", "lava", "both"))
    parser.add_argument("--state-bits", type=int, help="register width (default: the target's)")
    parser.add_argument("--codegen", choices=("numpy", "cython"), help="Brian2 code generation of the reference")
    parser.add_argument("--out", default="out/examples")
    args = parser.parse_args(argv)
    rows = []
    for name in MODELS:
        out = Path(args.out) / name
        extra = (["--state-bits", str(args.state_bits)] if args.state_bits else []) + \
            (["--codegen", args.codegen] if args.codegen else [])
        status = neuromorph(["compare", str(EXAMPLES / f"{name}.toml"), "--target", args.target,
                             "--backend", args.backend, "--out", str(out)] + extra)
        if status:
            return status
        rows.append(row(json.loads((out / "report.json").read_text())))
    print(f"\nFidelity at the {args.target} defaults against Brian2 (Gamma window 2 ms, mean over 10 neurons)\n")
    print("| model | step, scheme | bits, rounding | rate (Hz) | Gamma | worst Gamma | spike error mean / median / max "
          "(ms) | missed / extra | Gamma Brian2 vs float emulator |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
