"""Hardware targets loaded from ``hw_targets/*.toml``."""
from .hardware_target import CoreLimits, HardwareTarget, available_targets, load_target, load_target_file, targets_dir

__all__ = ["CoreLimits", "HardwareTarget", "available_targets", "load_target", "load_target_file", "targets_dir"]
