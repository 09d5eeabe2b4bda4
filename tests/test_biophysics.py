"""Membrane biophysics against published values, analytic identities and an independent
numerical solution of the Nernst-Planck equation."""
import numpy as np
import pytest
from scipy import constants
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from neuromorph import biophysics as bp

F, R = constants.physical_constants["Faraday constant"][0], constants.R  # CODATA, not the package's
T37 = 310.15


@pytest.mark.parametrize("celsius, mV_per_decade", [(20, 58.17), (25, 59.16), (37, 61.54)])
def test_nernst_slope_per_decade_is_the_textbook_value(celsius, mV_per_decade):
    # The Nernst slope, 2.303 RT/F per tenfold concentration ratio: 58.2 mV at 20 C,
    # 59.16 mV at 25 C (e.g. Bard & Faulkner), 61.5 mV at 37 C (Hille 2001, ch. 1).
    assert bp.nernst(10, 1, 1, 273.15 + celsius) * 1e3 == pytest.approx(mV_per_decade, abs=0.01)


def test_nernst_potassium_textbook_value():
    assert bp.nernst(5, 140, 1, T37) == pytest.approx(-0.0890, abs=5e-4)  # about -89 mV in mammalian neurons


def test_nernst_divalent_and_anion_signs():
    # Calcium at 37 C with 1.5 mM outside and 100 nM inside: about +129 mV (Hille 2001, Table 1.1).
    assert bp.nernst(1.5, 1e-4, 2, T37) == pytest.approx(0.129, abs=1e-3)
    assert bp.nernst(20, 2, 2, T37) == pytest.approx(bp.nernst(20, 2, 1, T37) / 2, rel=1e-12)
    assert bp.nernst(110, 10, -1, T37) == pytest.approx(-bp.nernst(110, 10, 1, T37), rel=1e-12)
    assert bp.nernst(110, 10, -1, T37) < 0


def test_ghk_voltage_with_one_permeant_ion_is_nernst():
    v = bp.ghk_voltage([1.0, 0.0, 0.0], [5, 145, 110], [140, 15, 10], [1, 1, -1], T37)
    assert v == pytest.approx(bp.nernst(5, 140, 1, T37), rel=1e-12)
    v_cl = bp.ghk_voltage([0.0, 0.0, 1.0], [5, 145, 110], [140, 15, 10], [1, 1, -1], T37)
    assert v_cl == pytest.approx(bp.nernst(110, 10, -1, T37), rel=1e-12)


def test_ghk_voltage_textbook_resting_potential():
    # Hille (2001): P_K : P_Na : P_Cl = 1 : 0.04 : 0.45 gives about -60 to -70 mV in mammalian neurons
    v = bp.ghk_voltage([1, 0.04, 0.45], [5, 145, 110], [140, 15, 10], [1, 1, -1], T37)
    assert -0.075 < v < -0.060


def test_ghk_voltage_refuses_divalent_ions():
    with pytest.raises(ValueError, match="monovalent"):
        bp.ghk_voltage([1, 1], [5, 2], [140, 1e-4], [1, 2], T37)


def test_ghk_current_vanishes_at_reversal_and_is_outward_positive():
    e_k = bp.nernst(5, 140, 1, T37)
    assert bp.ghk_current(1e-8, 1, e_k, 140, 5, T37) == pytest.approx(0, abs=1e-15)
    assert bp.ghk_current(1e-8, 1, e_k + 0.02, 140, 5, T37) > 0
    assert bp.ghk_current(1e-8, 1, e_k - 0.02, 140, 5, T37) < 0


def test_ghk_current_is_continuous_through_zero():
    P, z, c_in, c_out = 1e-8, 2, 1e-4, 2.0
    limit = P * z * F * (c_in - c_out)  # analytic value at V = 0
    values = bp.ghk_current(P, z, np.array([-1e-9, 0.0, 1e-9]), c_in, c_out, T37)
    np.testing.assert_allclose(values, limit, rtol=1e-6)
    v = np.linspace(-1e-3, 1e-3, 2001)
    current = bp.ghk_current(P, z, v, c_in, c_out, T37)
    assert np.all(np.isfinite(current)) and np.max(np.abs(np.diff(current))) < 1e-3 * abs(limit)


def nernst_planck_current(P, z, v, c_in, c_out, T):
    """Steady current density (A/m^2, outward positive) through a membrane with a constant field,
    from the Nernst-Planck equation integrated numerically (the derivation of the GHK current).

    In units of the thickness L = 1 with D = P: J = -D (dc/dx + (zF/RT) c dpsi/dx),
    psi(0) = v inside, psi(1) = 0 outside, c(0) = c_in, c(1) = c_out. For a flux J,
    dc/dx = (zFv/RT) c - J/D; c(1) is affine in J, so two integrations give the J that fits.
    """
    a = z * F * v / (R * T)

    def end_concentration(flux):
        solution = solve_ivp(lambda x, c: a * c - flux / P, (0.0, 1.0), [c_in], rtol=1e-12, atol=1e-14)
        return solution.y[0, -1]

    at_zero, at_one = end_concentration(0.0), end_concentration(1.0)
    flux = (c_out - at_zero) / (at_one - at_zero)
    return z * F * flux


@pytest.mark.parametrize("z, c_in, c_out", [(1, 140.0, 5.0), (1, 15.0, 145.0), (-1, 10.0, 110.0), (2, 1e-4, 2.0)])
def test_ghk_current_equals_the_nernst_planck_solution(z, c_in, c_out):
    P = 2e-8
    for v in (-0.08, -0.03, 0.02, 0.05):
        expected = nernst_planck_current(P, z, v, c_in, c_out, T37)
        assert bp.ghk_current(P, z, v, c_in, c_out, T37) == pytest.approx(expected, rel=1e-7)


def test_ghk_voltage_is_where_the_nernst_planck_currents_cancel():
    ions = [(1.0, 1, 140.0, 5.0), (0.04, 1, 15.0, 145.0), (0.45, -1, 10.0, 110.0)]  # P, z, inside, outside

    def total(v):
        return sum(nernst_planck_current(p * 1e-8, z, v, c_in, c_out, T37) for p, z, c_in, c_out in ions)

    zero = brentq(total, -0.1, 0.05, xtol=1e-9)
    v = bp.ghk_voltage([p for p, *_ in ions], [c for *_, c in ions], [c for _, _, c, _ in ions],
                       [z for _, z, _, _ in ions], T37)
    assert v == pytest.approx(zero, abs=1e-7)


def test_boltzmann_slope_at_half_activation():
    z, v_half, h = 4.0, -0.03, 1e-7
    slope = (bp.boltzmann_open_probability(v_half + h, v_half, z, T37)
             - bp.boltzmann_open_probability(v_half - h, v_half, z, T37)) / (2 * h)
    assert slope == pytest.approx(z * F / (4 * R * T37), rel=1e-6)
    assert bp.boltzmann_open_probability(v_half, v_half, z, T37) == pytest.approx(0.5)


def test_boltzmann_is_steeper_with_more_charge_and_colder():
    v = -0.02
    assert bp.boltzmann_open_probability(v, -0.03, 6, T37) > bp.boltzmann_open_probability(v, -0.03, 2, T37)
    assert bp.boltzmann_open_probability(v, -0.03, 4, 280.0) > bp.boltzmann_open_probability(v, -0.03, 4, T37)


def test_q10():
    assert bp.q10_factor(16.3, 6.3, 3.0) == pytest.approx(3.0)
    assert bp.q10_factor(6.3, 6.3, 3.0) == pytest.approx(1.0)
    assert bp.q10_factor(26.3, 6.3, 2.0) == pytest.approx(4.0)


def test_woodhull_delta_zero_is_voltage_independent():
    v = np.linspace(-0.1, 0.05, 7)
    f = bp.woodhull_unblocked_fraction(v, 1.0, 0.5, 2, 0.0, T37)
    np.testing.assert_allclose(f, 1 / (1 + 1.0 / 0.5))


def test_woodhull_block_grows_with_depolarisation_for_internal_cations():
    v = np.array([-0.1, -0.05, 0.0, 0.05])
    f = bp.woodhull_unblocked_fraction(v, 1.0, 5.0, 2, 0.8, T37)
    assert np.all(np.diff(f) < 0)
    assert bp.woodhull_unblocked_fraction(0.0, 1.0, 5.0, 2, 0.8, T37) == pytest.approx(1 / (1 + 1 / 5))


def test_donnan_electroneutrality_and_product_rule():
    result = bp.donnan_equilibrium(150.0, 100.0, -2, T37)
    assert result.cation_in == pytest.approx(result.anion_in + 2 * 100.0, abs=1e-9)
    assert result.cation_in * result.anion_in == pytest.approx(150.0**2, abs=1e-9)
    # both permeant ions at equilibrium: the potential is the Nernst potential of each
    assert result.potential == pytest.approx(bp.nernst(150.0, result.cation_in, 1, T37), abs=1e-12)
    assert result.potential == pytest.approx(bp.nernst(150.0, result.anion_in, -1, T37), abs=1e-12)


def test_donnan_without_impermeant_ions_is_flat():
    result = bp.donnan_equilibrium(150.0, 0.0, -1, T37)
    assert result.potential == pytest.approx(0.0, abs=1e-15)


def test_pump_potential_lies_between_e_k_and_ghk():
    k_o, k_i, na_o, na_i, p_na = 5.0, 140.0, 145.0, 15.0, 0.05
    e_k = bp.nernst(k_o, k_i, 1, T37)
    ghk = bp.ghk_voltage([1, p_na], [k_o, na_o], [k_i, na_i], [1, 1], T37)
    pumped = bp.pump_resting_potential(1.0, p_na, k_o, k_i, na_o, na_i, T37, r=1.5)
    assert e_k < pumped < ghk
    assert bp.pump_resting_potential(1.0, p_na, k_o, k_i, na_o, na_i, T37, r=1.0) == pytest.approx(ghk)


def test_pump_current_saturates():
    low = bp.pump_current(1.0, 5.0, 5.0)
    high = bp.pump_current(1.0, 1e4, 1e4)
    assert 0 < low < high <= 1.0 and high == pytest.approx(1.0, rel=1e-2)


def test_nacl_activity_coefficient_at_0p1_molar():
    ionic = bp.ionic_strength([100.0, 100.0], [1, -1])
    assert ionic == pytest.approx(100.0)
    gamma = bp.activity_coefficient(ionic, 1, 298.15, model="davies")
    assert gamma == pytest.approx(0.778, rel=0.03)  # Robinson & Stokes: mean coefficient of 0.1 m NaCl
    assert bp.activity_coefficient(1.0, 1, 298.15, model="debye_huckel") == pytest.approx(
        10 ** (-0.509 * np.sqrt(1e-3)), rel=2e-3)


def test_nernst_with_activities():
    plain = bp.nernst(5, 140, 1, T37)
    corrected = bp.nernst(5, 140, 1, T37, activities=True, ionic_strength_out=150, ionic_strength_in=150)
    assert corrected == pytest.approx(plain, abs=1e-12)  # equal ionic strengths: coefficients cancel
    asymmetric = bp.nernst(5, 140, 1, T37, activities=True, ionic_strength_out=300, ionic_strength_in=50)
    assert asymmetric < plain


def test_selectivity_ratio():
    assert bp.selectivity_ratio(0.0, T37) == 1.0
    assert bp.selectivity_ratio(R * T37, T37) == pytest.approx(np.exp(-1))


@pytest.mark.parametrize("call", [
    lambda: bp.nernst(0, 140, 1, T37),
    lambda: bp.nernst(5, -1, 1, T37),
    lambda: bp.nernst(5, 140, 1, 0),
    lambda: bp.nernst(5, 140, 0, T37),
    lambda: bp.ghk_voltage([1, 1], [5], [140, 15], [1, 1], T37),
    lambda: bp.ghk_current(1e-8, 1, 0.0, 140, 5, -3),
    lambda: bp.donnan_equilibrium(150, 10, 1, T37),
    lambda: bp.woodhull_unblocked_fraction(0.0, 1.0, 1.0, 2, 1.5, T37),
    lambda: bp.activity_coefficient(-1, 1, T37),
    lambda: bp.pump_resting_potential(1, 0.05, 5, 140, 145, 15, T37, r=-1),
])
def test_invalid_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
