"""Register formats and the bounds that keep every intermediate of the kernel in range."""
import numpy as np
import pytest

from neuromorph.model.model_file import load_model
from neuromorph.quantization.formats import FixedFormat, RangeProfile
from neuromorph.quantization.quantize import QuantConfig, quantize
from neuromorph.targets import load_target

from .conftest import squid_toml


def test_signed_format_is_twos_complement():
    fmt = FixedFormat(bits=8, frac_bits=4, unit="V")
    assert fmt.offset == 0
    assert fmt.max_value == 127 / 16
    assert fmt.to_dict()["int_bits"] == 3


def test_unsigned_gate_format_uses_every_level_in_offset_binary():
    gate = FixedFormat(bits=8, frac_bits=8, unit="1", signed=False)
    assert gate.max_value == 255 / 256  # 256 levels in [0, 1), twice the signed resolution
    assert gate.offset == 128  # stored as q - 128, inside a signed 8-bit register
    assert gate.to_dict()["int_bits"] == 0 and gate.to_dict()["signed"] is False


@pytest.fixture(scope="module")
def squid_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("formats") / "squid.toml"
    path.write_text(squid_toml())
    return load_model(path)


def lowered(model, target_name, bits):
    target = load_target(target_name)
    profile = RangeProfile(v_min=-0.08, v_max=0.045, dv_max=0.01, drive_max=0.2)
    return quantize(model.spec, target, QuantConfig.for_target(target, state_bits=bits), profile,
                    model.simulation.dt, dict(model.initial)), target


def test_gate_registers_hold_their_steady_state_in_offset_binary(squid_model):
    neuron, _ = lowered(squid_model, "generic16", 12)
    stored = neuron.initial[1:]
    assert (stored >= -(1 << 11)).all() and (stored < 1 << 11).all()
    values = (stored + neuron.gate.offset) * neuron.gate.lsb
    m, h, n = 0.0529, 0.5961, 0.3177  # textbook squid steady state at -65 mV
    np.testing.assert_allclose(values, [m, h, n], atol=1e-3)


@pytest.mark.parametrize("target_name, bits", [("generic16", 8), ("generic16", 12), ("generic16", 16),
                                                ("loihi1", 24), ("loihi2", 14), ("loihi2", 24)])
def test_every_affine_term_fits_the_accumulator_and_64_bit_intermediates(squid_model, target_name, bits):
    """Over the whole voltage register, in exact integers (Python ints do not overflow)."""
    neuron, target = lowered(squid_model, target_name, bits)
    v_extreme = 1 << (bits - 1)
    for term in neuron.terms:
        assert term.table is None
        slope_times_v = abs(term.b) * v_extreme
        assert slope_times_v < 1 << 63
        coefficient = abs(term.a) + (slope_times_v >> (term.b_frac - neuron.acc_frac))
        assert coefficient < 1 << (target.accumulator_bits - 1)
        if term.gates:
            assert coefficient << neuron.product_frac < 1 << 63
            assert abs(term.b) << neuron.product_frac < 1 << 63


def test_increments_keep_fractional_bits_on_a_16_bit_datapath(squid_model):
    """With a 32-bit accumulator, voltage increments keep bits below the 12-bit voltage LSB."""
    neuron, _ = lowered(squid_model, "generic16", 12)
    assert neuron.acc_frac >= 4
    drive_lsb_uA_per_cm2 = 1 / neuron.drive_scale * 100
    assert drive_lsb_uA_per_cm2 < 0.2  # far below the 3 uA/cm^2 noise of the stimulus
