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
    by_gates = {t.monomial: t.affine for t in spec.voltage_equation.terms}
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
    assert spec.stimulus.gain == pytest.approx(1 / c_m, rel=1e-12) and spec.stimulus.state == "v"
    # Brian2's exponential Euler folds every conductance into the exponential: A = -sum g/C
    rates = {t.monomial: t.constant for t in spec.voltage_equation.rate_terms}
    assert rates == {p: pytest.approx(-SQUID_PARAMETERS_SI[g] / c_m, rel=1e-12) for p, (g, _) in expected.items()}
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
    (statement,) = spec.reset
    assert (statement.name, statement.op, statement.value) == ("v", "=", pytest.approx(-0.07))


def test_reset_increments_are_parsed():
    spec = squid_spec(reset="v = -70*mV; n += 0.1; h -= 0.05")
    assert [(r.name, r.op, round(r.value, 9)) for r in spec.reset] == [("v", "=", -0.07), ("n", "+=", 0.1),
                                                                       ("h", "+=", -0.05)]


CONDUCTANCE_SYNAPSE = SQUID_EQUATIONS.replace(
    "dv/dt = (I_inj - I_Na - I_K - I_L) / C_m : volt",
    "dv/dt = (I_inj - I_Na - I_K - I_L - g_e * (v - E_e) - w) / C_m : volt\n"
    "dg_e/dt = -g_e / tau_e : siemens/meter**2\n"
    "dw/dt = (a_w * (v - E_L) - w) / tau_w : amp/meter**2")


def test_synaptic_conductance_and_adaptation_are_linear_states_not_gates():
    parameters = dict(SQUID_PARAMETERS_SI, E_e=0.0, tau_e=5e-3, a_w=0.5, tau_w=0.1)
    spec = squid_spec(CONDUCTANCE_SYNAPSE, parameters=parameters)
    assert [g.name for g in spec.gates] == ["m", "h", "n"]
    assert [s.name for s in spec.linear_states] == ["g_e", "w"]
    g_e, w = spec.linear_states
    assert {t.monomial: t.constant for t in g_e.terms} == {(("g_e", 1),): pytest.approx(-200.0)}
    assert g_e.constant_rate == pytest.approx(-200.0)  # a fixed decay: folded into the coefficients
    assert w.constant_rate == pytest.approx(-10.0)
    drive = next(t for t in w.terms if not t.monomial)  # a_w (v - E_L) / tau_w, affine in v
    assert drive.affine == (pytest.approx(-0.5 * SQUID_PARAMETERS_SI["E_L"] / 0.1), pytest.approx(5.0))
    membrane = {t.monomial: t.affine for t in spec.voltage_equation.terms}
    assert membrane[(("g_e", 1),)] == (0.0, pytest.approx(-1 / SQUID_PARAMETERS_SI["C_m"]))  # E_e = 0
    rates = {t.monomial for t in spec.voltage_equation.rate_terms}
    assert (("g_e", 1),) in rates  # the synaptic conductance joins the exponential, as in Brian2


def test_a_state_named_v_is_fine_when_the_voltage_is_u():
    equations = SQUID_EQUATIONS.replace("dv/dt", "du/dt").replace("(v - E", "(u - E").replace("(v +", "(u +")
    equations += "\ndv/dt = (0.5 - v) / (10*ms) : 1\n"
    spec = squid_spec(equations, voltage="u", threshold="u > -20*mV", refractory="u > -20*mV")
    assert spec.voltage == "u" and "v" in [g.name for g in spec.gates]


def test_input_missing_from_the_equations_names_the_input():
    equations = SQUID_EQUATIONS.replace("(I_inj - I_Na", "(- I_Na")
    with pytest.raises(LoweringError, match="'I_inj' does not appear"):
        squid_spec(equations)
