"""Kind ``"lif"``: Lava's own fixed-point ``LIF`` process, which runs on Loihi 2.

The emulator steps Lava's arithmetic in numpy (:func:`~neuromorph.network.lava_lif.lif_step`);
the Lava graph builds Lava's ``LIF`` (:func:`~neuromorph.lava.build.build_lif`), whose one
input port ``a_in`` (port 0) adds into its current ``u``. Lava's ``LIF`` records nothing and
counts no overflow: its readout (:func:`~neuromorph.lava.readout.probe_lif`) streams ``u``,
``v``, the spikes and the summed input every step, and :func:`lif_overflows` counts what
wrapped or clipped from them.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Mapping

import numpy as np

from ..lava_lif import LIF_UV_BITS, LavaLif, lif_step
from ..lif_mapping import LifConversion
from .base import LoweredPopulation

#: Overflow counters of a LIF population: input wrapped, u wrapped, v clipped.
LIF_COUNTERS = ("input wrapped", "u wrapped", "v clipped")


def _counts(result) -> np.ndarray:
    return np.array([result.n_input_wrapped, result.n_u_wrapped, result.n_v_clipped], dtype=np.int64)


class LifStepper:
    """Lava's fixed-point LIF in the emulator (state rows ``u``, ``v``; one input row ``a_in``)."""

    n_counters = len(LIF_COUNTERS)

    def __init__(self, lif: LavaLif):
        self.lif = lif

    def initial(self) -> np.ndarray:
        """``u``, ``v`` at t = 0, per neuron."""
        return np.stack([np.broadcast_to(self.lif.u, (self.lif.n,)), np.broadcast_to(self.lif.v, (self.lif.n,))]
                        ).astype(np.int64)

    def inputs(self) -> np.ndarray:
        """A zero ``a_in`` row."""
        return np.zeros((1, self.lif.n), dtype=np.int64)

    def step(self, state: np.ndarray, inputs: np.ndarray, t: int):
        """One step of Lava's ``PyLifModelBitAcc``, and the :data:`LIF_COUNTERS` of the step."""
        result = lif_step(self.lif, state[0], state[1], inputs[0])
        return np.stack([result.u, result.v]), result.spikes, _counts(result)


def lif_overflows(lif: LavaLif, u: np.ndarray, v: np.ndarray, a_in: np.ndarray) -> np.ndarray:
    """The :data:`LIF_COUNTERS` of a recorded LIF run (Lava's own; its model counts nothing).

    ``u``, ``v`` (T, N) are the states after each step, ``a_in`` (T, N) the summed input of
    each step; every step is recomputed from the previous recorded state (all steps at
    once), so the counts are those of the run that was recorded.
    """
    u_before = np.concatenate([np.broadcast_to(lif.u, (1, lif.n)), u[:-1]]).astype(np.int64)
    v_before = np.concatenate([np.broadcast_to(lif.v, (1, lif.n)), v[:-1]]).astype(np.int64)
    return _counts(lif_step(lif, u_before, v_before, a_in))


@dataclass(frozen=True, kw_only=True)
class LavaLifProcess(LoweredPopulation):
    """What runs a population on Lava's own ``LIF`` process, whatever its parameters mean.

    Not a kind itself: :class:`LavaLifPopulation` (a network population) and
    :class:`~.relay.RelayPopulation` (a relay the lowering adds) share the emulator's stepper,
    the Lava process, its one port ``a_in``, the streaming readout and the reader; each says
    which :class:`~neuromorph.network.lava_lif.LavaLif` it runs (:attr:`lava_lif`).
    """

    #: Lava's ``v`` is the second row of ``u``, ``v``.
    voltage_register: ClassVar[int] = 1

    @property
    @abstractmethod
    def lava_lif(self) -> LavaLif:
        """The Lava ``LIF`` parameters and initial ``u``, ``v`` that run the population."""

    @property
    def input_rows(self) -> int:
        """One: ``a_in``."""
        return 1

    def stepper(self, n_steps: int | None = None, parallel: bool = True) -> LifStepper:
        """Lava's LIF arithmetic in numpy (:class:`LifStepper`)."""
        return LifStepper(self.lava_lif)

    def build_lava(self, record_steps: int, record_dir: str | None = None, record_states: bool = True):
        """Lava's own LIF (Lava finds its fixed_pt model itself)."""
        from ...lava.build import build_lif

        return build_lif(self.lava_lif), None

    def lava_port(self, process, port: int):
        """``a_in``, the one input port."""
        if port != 0:
            raise ValueError(f"Lava's LIF has one input port (a_in = port 0), not port {port}")
        return process.a_in

    def lava_readout(self, process, feeds: list, models: dict, record_steps: int):
        """The streaming readout (:func:`~neuromorph.lava.readout.probe_lif`) when the run records."""
        from ...lava.readout import probe_lif

        return probe_lif(process, feeds, models) if record_steps > 0 else None

    def read_lava(self, process, received: Mapping[str, np.ndarray], n_steps: int, record: bool):
        """``u``, ``v`` and the spikes as streamed; the overflow counts recomputed from them (:func:`lif_overflows`)."""
        data = {key: values.astype(np.int64) for key, values in received.items()}
        u, v = data["u"], data["v"]
        overflows = lif_overflows(self.lava_lif, u, v, data.get("a_in", np.zeros_like(u)))
        return data["spikes"] != 0, np.stack([u, v], axis=1) if record else None, overflows

    @property
    def state_bits_per_neuron(self) -> int:
        """Lava's ``u`` and ``v``."""
        return 2 * LIF_UV_BITS


@dataclass(frozen=True, kw_only=True)
class LavaLifPopulation(LavaLifProcess):
    """A population as Lava's own ``LIF`` (see the module docstring); ``initial`` holds the rows ``u``, ``v``.

    Attributes
    ----------
    lif : LifConversion
        How the population's neuron maps to Lava's LIF; its ``lava`` holds the process parameters.
    """

    kind: ClassVar[str] = "lif"
    process_description: ClassVar[str] = "LIF (Lava's own, runs on Loihi 2)"
    process_label: ClassVar[str] = "LIF (Lava, Loihi 2)"
    hardware_deployable: ClassVar[bool] = True
    export_keys: ClassVar[tuple[str, ...]] = ("lif",)

    lif: LifConversion

    @property
    def lava_lif(self) -> LavaLif:
        """The conversion's Lava parameters."""
        return self.lif.lava

    @property
    def voltage_lsb(self) -> float:
        """LSB of Lava's ``v`` (V)."""
        return self.lif.v_lsb

    def port_scale(self, port: int) -> float:
        """Lava's ``a_in``, which Lava shifts left by 6 into ``u``: the conversion's input scale."""
        return self.lif.input_scale

    def accepts(self, variable: str, port: int) -> bool:
        """Port 0 (``a_in``), whatever the variable's name."""
        return port == 0

    def export_payload(self, writer, prefix: str) -> dict:
        """The :class:`LifConversion` field by field (no neuron, no drive)."""
        return {"neuron": None, "drive": None, "lif": writer.data(self.lif, f"{prefix}_lif")}

    @classmethod
    def read_payload(cls, data, reader, field: str) -> dict:
        """The initial ``u``, ``v`` and the conversion (its ``lava.n`` the population size); no drive rows."""
        if data.initial is None:
            reader.refuse("is null; a LIF population needs its initial u and v (2 x neurons)", f"{field}.initial")
        initial = reader.matrix(data.initial, f"{field}.initial", data.size, rows=2)
        drive = reader.matrix(data.drive, f"{field}.drive", data.size)
        if drive is not None and drive.shape[0]:
            reader.refuse(f"{drive.shape[0]} drive rows: Lava's LIF takes no drive", f"{field}.drive")
        conversion = reader.dataclass(LifConversion, data.lif, f"{field}.lif")
        if conversion.lava.n != data.size:
            reader.refuse(f"n = {conversion.lava.n} differs from the population size {data.size}",
                          f"{field}.lif.lava.n")
        lava_initial = np.stack([np.broadcast_to(conversion.lava.u, (data.size,)),
                                 np.broadcast_to(conversion.lava.v, (data.size,))])
        if not np.array_equal(initial, lava_initial):
            reader.refuse("differs from the u and v of lif.lava (the values Lava's LIF starts from)",
                          f"{field}.initial")
        return {"initial": initial, "lif": conversion}

    def decode_states(self, registers: np.ndarray) -> dict[str, np.ndarray]:
        """Lava's ``u`` (the synaptic current) and ``v`` in SI units."""
        u, v = self.lif.state_si(registers[..., 0, :], registers[..., 1, :])
        return {next(iter(self.increment_ports)): u, self.spec.voltage: v}
