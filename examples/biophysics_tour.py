"""A tour of neuromorph.biophysics in four figures.

1. nernst.png: Nernst potential of mono- and divalent cations and of Cl- versus the concentration ratio.
2. ghk_iv.png: GHK current-voltage curves of K+ and Na+ (rectification from asymmetric
   concentrations) against the ohmic lines through the same reversal potentials.
3. boltzmann.png: open probability at two temperatures and two gating charges.
4. kir_iv.png: an inward-rectifier K current with and without Woodhull Mg2+ block.

Usage: python examples/biophysics_tour.py [--out docs/figures]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neuromorph import biophysics as bp  # noqa: E402

T37 = 310.15
V = np.linspace(-0.12, 0.06, 361)


def nernst_figure(ax):
    ratio = np.logspace(-2, 4, 200)
    for name, z in (("K+ or Na+", 1), ("Ca2+", 2), ("Cl-", -1)):
        ax.semilogx(ratio, bp.nernst(ratio, 1.0, z, T37) * 1e3, label=f"{name} (z = {z:+d})")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("[X]out / [X]in")
    ax.set_ylabel("Nernst potential (mV)")
    ax.set_title("Nernst potential at 37 C: 61.5/z mV per decade")
    ax.legend()


def ghk_figure(ax):
    ions = {"K+": (1, 140.0, 5.0), "Na+": (1, 15.0, 145.0)}
    for name, (z, c_in, c_out) in ions.items():
        current = bp.ghk_current(1e-8, z, V, c_in, c_out, T37)
        e_rev = bp.nernst(c_out, c_in, z, T37)
        slope = bp.ghk_current(1e-8, z, e_rev + 1e-6, c_in, c_out, T37) / 1e-6
        line, = ax.plot(V * 1e3, current, label=f"{name} GHK")
        ax.plot(V * 1e3, slope * (V - e_rev), "--", color=line.get_color(), lw=0.8, label=f"{name} ohmic, same E")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("V (mV)")
    ax.set_ylabel("current density (A/m$^2$, outward +)")
    ax.set_title("GHK currents rectify (P = 1e-8 m/s, 37 C)")
    ax.legend(fontsize=8)


def boltzmann_figure(ax):
    for T, style in ((279.45, "-"), (T37, "--")):
        for z in (2.0, 6.0):
            ax.plot(V * 1e3, bp.boltzmann_open_probability(V, -0.04, z, T), style,
                    label=f"z = {z:g}, T = {T - bp.ZERO_CELSIUS:.1f} C")
    ax.set_xlabel("V (mV)")
    ax.set_ylabel("open probability")
    ax.set_title("Boltzmann gating, V_half = -40 mV")
    ax.legend(fontsize=8)


def kir_figure(ax):
    g_k = 1.0  # S/m^2
    e_k = bp.nernst(5.0, 140.0, 1, T37)
    open_current = g_k * (V - e_k)
    blocked = open_current * bp.woodhull_unblocked_fraction(V, 1.0, 1.0, 2, 0.8, T37)
    ax.plot(V * 1e3, open_current, label="no block")
    ax.plot(V * 1e3, blocked, label="1 mM Mg$^{2+}$ inside, K$_d$(0) = 1 mM, delta = 0.8")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(e_k * 1e3, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("V (mV)")
    ax.set_ylabel("current density (A/m$^2$)")
    ax.set_title("Kir: Woodhull block makes the current inwardly rectifying")
    ax.legend(fontsize=8)


FIGURES = {"nernst.png": nernst_figure, "ghk_iv.png": ghk_figure, "boltzmann.png": boltzmann_figure,
           "kir_iv.png": kir_figure}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        draw(ax)
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
