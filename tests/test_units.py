"""The safe quantity parser against Brian2's own arithmetic."""
import brian2
import pytest

from neuromorph.errors import UnitError
from neuromorph.units import parse_quantity, to_si


@pytest.mark.parametrize("text, expected", [
    ("1.5 * mS/cm**2", 1.5 * brian2.mS / brian2.cm**2),
    ("-65*mV", -65 * brian2.mV),
    ("(2 * mV)", 2 * brian2.mV),
    ("uA/cm**2", brian2.uA / brian2.cm**2),
    ("1e-3 * amp/meter**2", 1e-3 * brian2.amp / brian2.meter**2),
    ("140 * mM", 140 * brian2.mM),
    ("10 * mV - 3 * mV", 7 * brian2.mV),
    ("2 * cm**-2", 2 / brian2.cm**2),
])
def test_parses_like_brian2(text, expected):
    assert float(parse_quantity(text)) == pytest.approx(float(expected), rel=1e-12)
    assert brian2.get_dimensions(parse_quantity(text)) == brian2.get_dimensions(expected)


def test_numbers_are_dimensionless():
    assert to_si(6.3, unit=1) == 6.3
    assert to_si("6.3", unit=1) == 6.3


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch PWNED')",
    "mV.__class__",
    "[1, 2]",
    "lambda: 1",
    "'5' * mV",
    "mV ** mV",
    "abs(-1) * mV",
])
def test_code_is_refused_without_running(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnitError) as info:
        parse_quantity(text, source="m.toml", field="parameters.x")
    assert "m.toml:parameters.x" in str(info.value)
    assert not (tmp_path / "PWNED").exists()


def test_unknown_unit():
    with pytest.raises(UnitError, match="unknown unit 'mVV'"):
        parse_quantity("3 * mVV")


def test_missing_units_are_named():
    with pytest.raises(UnitError, match="needs units"):
        to_si("0.025", unit=brian2.second, source="m.toml", field="simulation.dt")


def test_wrong_dimension():
    with pytest.raises(UnitError, match="expected a quantity in"):
        to_si("5 * ms", unit=brian2.volt)


def test_mixed_dimensions_in_a_sum():
    with pytest.raises(UnitError, match="different dimensions"):
        parse_quantity("1 * mV + 1 * ms")


def test_malformed():
    with pytest.raises(UnitError, match="cannot parse"):
        parse_quantity("3 * (mV")


def test_negative_integer_powers_are_legal():
    assert float(parse_quantity("120 * 10**-3 * S/cm**2")) == float(parse_quantity("120 * mS/cm**2"))
    assert float(parse_quantity("120 * 10**-3 * siemens/cm**2")) == pytest.approx(float(120 * brian2.mS / brian2.cm**2))
    assert brian2.get_dimensions(parse_quantity("120 * 10**-3 * S/cm**2")) == brian2.get_dimensions(brian2.mS / brian2.cm**2)


@pytest.mark.parametrize("exponent", [63, 64, 100])
def test_large_integers_are_exact_floats_not_overflowed_integers(exponent):
    assert float(parse_quantity(f"2**{exponent} * mV")) == 2.0**exponent * 1e-3


@pytest.mark.parametrize("text, words", [
    ("1e999 * mV", "too large"),
    ("50 * mV / 0", "division by zero"),
    ("0**-1 * mV", "division by zero"),
    ("10**400 * mV", "overflows"),
    ("1e308 * 10 * mV", "overflows"),
    ("(-8)**0.5 * mV", "not a real number"),
    ("9" * 400 + " * mV", "too large"),
    ("mV**100", "powers up to"),
])
def test_non_finite_results_are_refused(text, words):
    with pytest.raises(UnitError, match=words):
        parse_quantity(text, source="m.toml", field="parameters.x")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 10**400])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(UnitError, match="finite"):
        parse_quantity(value)


@pytest.mark.parametrize("text, words", [
    ("-" * 100_000 + "1 * mV", "at most 1000 characters"),
    ("1 * mV" + " * 1" * 100_000, "at most 1000 characters"),
    ("9" * 4000 + " * mV", "at most 1000 characters"),
    ("-" * 40 + "1 * mV", "nested deeper"),
    ("(" * 300 + "1" + ")" * 300, "cannot parse"),
])
def test_long_or_deep_texts_are_refused_quickly(text, words):
    with pytest.raises(UnitError, match=words) as info:
        parse_quantity(text)
    assert len(str(info.value)) < 400  # at most ~200 characters of the value are echoed


def test_bare_si_symbols():
    assert float(parse_quantity("1 * V")) == 1.0 and float(parse_quantity("2 * A/meter**2")) == 2.0
    assert float(parse_quantity("1 * F")) == 1.0 and float(parse_quantity("0.1 * M")) == pytest.approx(100.0)
