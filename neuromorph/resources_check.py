"""Memory a run will need, estimated before it starts and compared with the machine's.

Long runs are dominated by arrays of ``steps x neurons`` values: the sampled stimulus,
Brian2's voltage record, the emulators' recorded states, Lava's trace. The estimates below
count each of them (8 bytes per value; Brian2's monitors grow by doubling, so their
records count twice), add the lookup tables, and are compared with the memory the
operating system reports as available. A run that would not fit is refused before
anything is simulated, naming the field to change.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError

#: Bytes per recorded value (float64 and int64 arrays).
VALUE_BYTES = 8
#: Share of the available memory a run may plan to use.
USABLE_FRACTION = 0.8
#: Memory of Lava's runtime processes whatever the run's length (measured: about 1.8 GB for
#: squid HH at 4e5 and at 1.6e6 neuron-steps on the development machine).
LAVA_OVERHEAD = 2.0e9


@dataclass(frozen=True)
class Estimate:
    """Bytes a run needs, by part, and the grid that drives it."""

    parts: dict
    steps: int
    neurons: int
    values_per_cell: float

    @property
    def total(self) -> float:
        """Bytes in all."""
        return float(sum(self.parts.values()))


def available_memory() -> int:
    """Bytes of memory available to new allocations (psutil's ``available``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def table_bytes(lut_size: int, n_gates: int, n_terms: int) -> int:
    """Lookup tables: two per gate, one per tabulated membrane term, one for phi; entries and slopes."""
    return 2 * lut_size * (2 * n_gates + n_terms + 1) * VALUE_BYTES


def compare_estimate(steps: int, neurons: int, n_state: int, lava: bool, tables: int = 0) -> Estimate:
    """Memory of ``neuromorph compare``: Brian2, both emulators and optionally Lava, all recorded.

    Per step and neuron: stimulus and its copies (3), Brian2's voltage record (2), the float
    emulator's states and trace (``n_state + 2``), the fixed-point emulator's states, drive
    and trace (``n_state + 2``), the report's differences (2); Lava adds its trace and
    copies (``2 n_state + 2``) plus :data:`LAVA_OVERHEAD`. Measured peaks on the
    development machine (squid HH, 1.6e6 neuron-steps): 0.27 GB above the interpreter's
    for Brian2 and the emulators (this estimate: 0.27 GB), 1.8 GB more with Lava.
    """
    cell = float(steps) * float(neurons) * VALUE_BYTES
    parts = {"stimulus": 3 * cell, "Brian2 voltage record": 2 * cell, "float emulator": (n_state + 2) * cell,
             "fixed-point emulator": (n_state + 2) * cell, "report": 2 * cell, "tables": float(tables)}
    if lava:
        parts["Lava"] = (2 * n_state + 2) * cell + LAVA_OVERHEAD
    return Estimate(parts, int(steps), int(neurons), sum(parts.values()) / cell if cell else 0.0)


def search_estimate(steps: int, neurons: int, seeds: int, workers: int, tables: int = 0) -> Estimate:
    """Memory of ``tune``/``sweep``: a profiling run, one Brian2 run of all held-out seeds
    side by side (spikes only), and per worker the drive and spikes of that population."""
    cell = float(steps) * float(neurons) * VALUE_BYTES
    population = cell * seeds
    parts = {"profiling run": 5 * cell, "held-out references": 3 * population,
             "workers": workers * (2.2 * population + tables)}
    return Estimate(parts, int(steps), int(neurons) * seeds, sum(parts.values()) / cell if cell else 0.0)


def _gb(value: float) -> str:
    return f"{value / 1e9:.3g} GB"


def check_memory(estimate: Estimate, source: str | None, field: str, advice: str, available: int | None = None) -> None:
    """Refuse a run whose estimate exceeds :data:`USABLE_FRACTION` of the available memory.

    Raises
    ------
    InputError
        Naming ``source:field``, the estimate, its largest parts and ``advice``.
    """
    available = available_memory() if available is None else available
    if estimate.total <= USABLE_FRACTION * available:
        return
    largest = sorted(estimate.parts.items(), key=lambda item: -item[1])[:2]
    raise InputError(f"the run needs about {_gb(estimate.total)} of memory ({estimate.steps:,} steps x "
                     f"{estimate.neurons:,} neurons x {estimate.values_per_cell:.0f} values of 8 bytes; mostly "
                     f"{', '.join(f'{name} {_gb(size)}' for name, size in largest)}) but {_gb(available)} are "
                     f"available; {advice}", source, field)
