"""Membrane biophysics in SI units (V, mol/m^3 = mM, K, A/m^2, m/s), vectorised with numpy."""
from .activity import activity_coefficient, debye_huckel_a, ionic_strength
from .constants import FARADAY, GAS_CONSTANT, ZERO_CELSIUS, thermal_voltage
from .donnan import DonnanEquilibrium, donnan_equilibrium
from .gating import boltzmann_open_probability, q10_factor
from .ghk import ghk_current, ghk_voltage
from .kir import selectivity_ratio, woodhull_unblocked_fraction
from .nernst import nernst
from .pump import pump_current, pump_resting_potential

__all__ = [
    "FARADAY", "GAS_CONSTANT", "ZERO_CELSIUS", "DonnanEquilibrium", "activity_coefficient", "boltzmann_open_probability",
    "debye_huckel_a", "donnan_equilibrium", "ghk_current", "ghk_voltage", "ionic_strength", "nernst",
    "pump_current", "pump_resting_potential", "q10_factor", "selectivity_ratio", "thermal_voltage",
    "woodhull_unblocked_fraction",
]
