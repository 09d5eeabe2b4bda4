"""Hardware target files: the shipped ones load; broken ones are refused by file and key."""
import pytest

from neuromorph.errors import ConfigError, TargetFileError
from neuromorph.targets import available_targets, load_target, targets_dir


def test_shipped_targets_load():
    assert {"loihi2", "loihi1", "generic16"} <= set(available_targets())
    loihi2 = load_target("loihi2")
    assert loihi2.state_bits == 24 and loihi2.max_delay_steps == 63
    # Lava's fixed-point LIF clips v and wraps u (lava/proc/lif/models.py:161-186)
    assert (loihi2.overflow_voltage, loihi2.overflow_linear) == ("saturate", "wrap")
    assert "toward_zero" in loihi2.rounding_modes
    assert load_target("generic16").state_bits == 16


def variant(tmp_path, old, new, name="t.toml"):
    text = (targets_dir() / "loihi2.toml").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("old, new, key", [
    ("state_bits = 24\nmultiplier", "multiplier", "datapath.state_bits"),
    ("state_bits = 24\nmultiplier", 'state_bits = "24"\nmultiplier', "datapath.state_bits"),
    ("state_bits = 24\nmultiplier", "state_bits = -4\nmultiplier", "datapath.state_bits"),
    ("state_bits = 24\nmultiplier", "state_bits = true\nmultiplier", "datapath.state_bits"),
    ('voltage = "saturate"', 'voltage = "explode"', "overflow.voltage"),
    ("max_delay_steps = 63", "max_delay_steps = 63\nspeed = 1", "network.speed"),
    ("multiplier_bits = 24", "multiplier_bits = 40", "datapath.multiplier_bits"),
    ("accumulator_bits = 48", "accumulator_bits = 30", "datapath.accumulator_bits"),
    ('narrow_rounding = "dither"', 'narrow_rounding = "magic"', "defaults.narrow_rounding"),
    ("memory_bits = 1048576", "memory_bits = 0", "lookup_tables.memory_bits"),
    ("[network]", "[networks]", "networks"),
    ('rounding = "nearest"', 'rounding = "banker"', "defaults.rounding"),
    ("lut_size = 1024", "lut_size = 1000", "defaults.lut_size"),
    ("[defaults]\nstate_bits = 24", "[defaults]\nstate_bits = 32", "defaults.state_bits"),
])
def test_invalid_target_files_name_file_and_key(tmp_path, old, new, key):
    path = variant(tmp_path, old, new)
    with pytest.raises(TargetFileError) as info:
        load_target(path)
    message = str(info.value)
    assert str(path) in message and key in message
    assert "\n" not in message


def test_malformed_toml(tmp_path):
    path = variant(tmp_path, "[datapath]", "[datapath")
    with pytest.raises(TargetFileError, match="malformed TOML"):
        load_target(path)


def test_unknown_target_lists_the_available_ones():
    with pytest.raises(ConfigError, match="loihi2"):
        load_target("loihi9")


def test_limits_are_enforced():
    target = load_target("generic16")
    with pytest.raises(ConfigError, match="exceed the generic16 register width"):
        target.check_state_bits(20)
    with pytest.raises(ConfigError, match="power of two"):
        target.check_lut_size(1000)
    with pytest.raises(ConfigError, match="power of two"):
        target.check_lut_size(8192)
    assert target.check_lut_size(256) == 256


def test_a_new_target_is_a_new_file(tmp_path, monkeypatch):
    path = variant(tmp_path, 'name = "loihi2"', 'name = "mychip"', "mychip.toml")
    monkeypatch.setenv("NEUROMORPH_TARGETS_DIR", str(tmp_path))
    assert "mychip" in available_targets()
    assert load_target("mychip").name == "mychip"
    assert load_target(str(path)).name == "mychip"


def test_targets_come_from_the_checkout_else_the_installed_package(tmp_path, monkeypatch):
    import neuromorph.targets.hardware_target as hardware_target

    monkeypatch.delenv("NEUROMORPH_TARGETS_DIR", raising=False)
    assert targets_dir() == hardware_target.CHECKOUT_TARGETS_DIR  # this test runs from a checkout
    monkeypatch.setattr(hardware_target, "CHECKOUT_TARGETS_DIR", tmp_path / "installed_elsewhere")
    monkeypatch.setattr(hardware_target, "TARGETS_PACKAGE", "neuromorph.not_installed")
    with pytest.raises(ConfigError, match="neuromorph.not_installed.*not installed.*NEUROMORPH_TARGETS_DIR"):
        load_target("loihi2")
