"""`neuromorph biophys` and the biophysics tour script."""
import numpy as np
import pytest

from neuromorph import biophysics as bp
from neuromorph.cli.biophys import parse_concentration, parse_temperature
from neuromorph.cli import main

from .conftest import EXAMPLES


def run(capsys, *args):
    status = main(["biophys", *args])
    out = capsys.readouterr()
    return status, out.out.strip(), out.err.strip()


def test_nernst_command_prints_value_and_unit(capsys):
    status, out, _ = run(capsys, "nernst", "--ion", "K", "--out", "5mM", "--in", "140mM", "--temperature", "37C")
    expected = 8.314462618 * 310.15 / 96485.33212 * np.log(5 / 140) * 1e3
    assert status == 0 and out == f"E_K = {expected:.2f} mV"


def test_ghk_command_uses_the_given_permeabilities(capsys):
    status, out, _ = run(capsys, "ghk", "--pk", "1", "--pna", "0.05", "--pcl", "0", "--temperature", "310.15K")
    expected = bp.ghk_voltage([1, 0.05], [5, 145], [140, 15], [1, 1], 310.15) * 1e3
    assert status == 0 and out == f"V_GHK = {expected:.2f} mV"


def test_donnan_command(capsys):
    status, out, _ = run(capsys, "donnan", "--salt-out", "0.15M", "--impermeant-in", "100mM")
    assert status == 0 and out.splitlines()[0].startswith("V_Donnan = -8.")


def test_bad_concentration_is_a_one_line_error(capsys):
    status, _, err = run(capsys, "nernst", "--out", "5 parsecs", "--in", "140mM")
    assert status == 2 and "--out" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("text, kelvin", [("37C", 310.15), ("37 degC", 310.15), ("310K", 310.0), ("300", 300.0)])
def test_temperature_parser(text, kelvin):
    assert parse_temperature(text) == pytest.approx(kelvin)


def test_concentration_parser():
    assert parse_concentration("0.1M", "x") == pytest.approx(100.0)
    assert parse_concentration("20 uM", "x") == pytest.approx(0.02)


def test_biophysics_tour_writes_four_figures(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tour", EXAMPLES / "biophysics_tour.py")
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    assert tour.main(["--out", str(tmp_path)]) == 0
    for name in ("nernst.png", "ghk_iv.png", "boltzmann.png", "kir_iv.png"):
        assert (tmp_path / name).stat().st_size > 5_000
