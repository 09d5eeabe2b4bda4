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
