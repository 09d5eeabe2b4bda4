"""Brian2 equations -> neuron IR: classification, coefficients and refusals."""
import numpy as np
import pytest

from neuromorph.errors import LoweringError, ModelFileError
from neuromorph.model.from_brian2 import spec_from_equations
from neuromorph.model.neuron_spec import evaluate

from .conftest import SQUID_PARAMETERS_SI, SQUID_EQUATIONS


def squid_spec(equations=SQUID_EQUATIONS, **kwargs):
    options = dict(name="squid", parameters=SQUID_PARAMETERS_SI, input_name="I_inj", threshold="v > -20*mV",
                   refractory="v > -20*mV", source="test.toml")
    options.update(kwargs)
    return spec_from_equations(equations, **options)


def textbook_rates(v_mV):
    """Hodgkin & Huxley (1952) rate functions in 1/ms, modern sign convention."""
    a_m = 0.1 * (v_mV + 40) / (1 - np.exp(-(v_mV + 40) / 10))
    b_m = 4 * np.exp(-(v_mV + 65) / 18)
    a_h = 0.07 * np.exp(-(v_mV + 65) / 20)
    b_h = 1 / (1 + np.exp(-(v_mV + 35) / 10))
    a_n = 0.01 * (v_mV + 55) / (1 - np.exp(-(v_mV + 55) / 10))
    b_n = 0.125 * np.exp(-(v_mV + 65) / 80)
    return {"m": (a_m, b_m), "h": (a_h, b_h), "n": (a_n, b_n)}


def test_gates_are_classified_and_match_textbook_kinetics():
    spec = squid_spec()
    assert [g.name for g in spec.gates] == ["m", "h", "n"]
    assert all(g.form == "alpha_beta" for g in spec.gates)
    v_mV = np.linspace(-90, 40, 131) + 0.123  # avoid the removable singularities of the textbook form
    rates = textbook_rates(v_mV)
    for gate in spec.gates:
        alpha, beta = rates[gate.name]
        np.testing.assert_allclose(evaluate(gate.x_inf, v_mV * 1e-3), alpha / (alpha + beta), rtol=1e-9)
        np.testing.assert_allclose(evaluate(gate.tau, v_mV * 1e-3), 1e-3 / (alpha + beta), rtol=1e-9)


def test_membrane_terms_are_ohmic_conductances_over_capacitance():
    spec = squid_spec()
    c_m = SQUID_PARAMETERS_SI["C_m"]
    by_gates = {t.gate_powers: t.affine for t in spec.terms}
    expected = {
        (("m", 3), ("h", 1)): ("g_Na", "E_Na"),
        (("n", 4),): ("g_K", "E_K"),
        (): ("g_L", "E_L"),
    }
    assert set(by_gates) == set(expected)
    for powers, (g, e) in expected.items():
        a, b = by_gates[powers]
        g_over_c = SQUID_PARAMETERS_SI[g] / c_m
        assert b == pytest.approx(-g_over_c, rel=1e-12)
        assert a == pytest.approx(g_over_c * SQUID_PARAMETERS_SI[e], rel=1e-12)
    assert spec.input_gain == pytest.approx(1 / c_m, rel=1e-12)
    assert spec.currents == ("I_Na", "I_K", "I_L")


def test_inf_tau_form_is_recognised():
    equations = """
    dv/dt = (I_inj - g_K * n**4 * (v - E_K) - g_L * (v - E_L)) / C_m : volt
    dn/dt = (n_inf - n) / tau_n : 1
    n_inf = 1 / (1 + exp(-(v + 50*mV) / (10*mV))) : 1
    tau_n = 5*ms : second
    I_inj : amp/meter**2
    """
    spec = squid_spec(equations)
    (gate,) = spec.gates
    assert gate.form == "inf_tau"
    v = np.array([-0.07, -0.05, -0.03])
    np.testing.assert_allclose(evaluate(gate.x_inf, v), 1 / (1 + np.exp(-(v + 0.05) / 0.01)), rtol=1e-12)
    np.testing.assert_allclose(evaluate(gate.tau, v), 5e-3, rtol=1e-12)


@pytest.mark.parametrize("bad_line, fragment", [
    ("dm/dt = alpha_m * (1 - m) - beta_m * m**2 : 1", "dm/dt"),
    ("dm/dt = alpha_m * (1 - m) - beta_m * m * h : 1", "dm/dt"),
])
def test_nonlinear_gate_is_refused_naming_the_equation(bad_line, fragment):
    lines = [line for line in SQUID_EQUATIONS.splitlines() if not line.strip().startswith("dm/dt")]
    with pytest.raises(LoweringError) as info:
        squid_spec("\n".join(lines + [bad_line]))
    assert fragment in str(info.value) and "test.toml" in str(info.value)


def test_membrane_not_polynomial_in_gates_is_refused():
    equations = SQUID_EQUATIONS.replace("m**3 * h", "exp(m) * h")
    with pytest.raises(LoweringError, match="polynomial"):
        squid_spec(equations)


def test_input_multiplied_by_a_gate_is_refused():
    equations = SQUID_EQUATIONS.replace("(I_inj - I_Na", "(I_inj * h - I_Na")
    with pytest.raises(LoweringError, match="input must enter"):
        squid_spec(equations)


def test_threshold_on_another_variable_is_refused():
    with pytest.raises(ModelFileError, match="neuron.threshold"):
        squid_spec(threshold="m > 0.5")


def test_duration_refractoriness_and_reset_are_parsed():
    spec = squid_spec(refractory="2*ms", reset="v = -70*mV")
    assert spec.refractory.duration == pytest.approx(2e-3)
    assert spec.reset == (("v", pytest.approx(-0.07)),)
