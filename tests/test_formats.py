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
    gates = neuron.program.registers[1:4]
    stored = neuron.initial[1:4]
    assert all(g.kind == "gate" and g.bits == 12 and g.offset == 1 << 11 for g in gates)
    assert (stored >= -(1 << 11)).all() and (stored < 1 << 11).all()
    values = [(q + g.offset) * 2.0**-g.frac for q, g in zip(stored, gates)]
    m, h, n = 0.0529, 0.5961, 0.3177  # textbook squid steady state at -65 mV
    np.testing.assert_allclose(values, [m, h, n], atol=1e-3)


def test_gates_as_wide_as_the_multiplier_give_up_one_bit_to_stay_an_operand(squid_model):
    neuron, target = lowered(squid_model, "generic16", 16)
    gate = neuron.program.registers[1]
    assert (gate.frac, gate.offset, gate.value_range) == (15, 0, (0, (1 << 15) - 1))


def test_increments_keep_fractional_bits_on_a_16_bit_datapath(squid_model):
    """With a 32-bit accumulator, voltage increments keep bits below the 12-bit voltage LSB."""
    neuron, _ = lowered(squid_model, "generic16", 12)
    (port,) = neuron.program.ports
    assert port.frac - neuron.program.registers[0].frac >= 4
    drive_lsb_uA_per_cm2 = 1 / port.scale * 100
    assert drive_lsb_uA_per_cm2 < 0.2  # far below the 3 uA/cm^2 noise of the stimulus
