"""The network report as an object: table, figures, JSON, per-population metrics and spike trains.

A thin class over the plain data :func:`neuromorph.network.comparison.build_report` returns (the
JSON ``neuromorph network`` writes) and the run it describes (a
:class:`~neuromorph.network.comparison.NetworkResult`), so the data stay the one source of truth::

    report = neuromorph.last_report()          # after run() on the 'neuromorph' device
    print(report.table())                      # the CLI's table
    report.plot("out/")                        # activity.png, statistics_<population>.png, states_<population>.png
    report.to_json("out/report.json")
    report.populations["P"].rate_candidate_hz  # or report.P.rate_candidate_hz
    report.spike_trains["P"]["candidate"]      # spike times (s) per neuron
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .cli.network import format_network_table, network_problems
from .execution.emulator import spike_trains_from
from .results_file import json_safe


@dataclass(frozen=True)
class PopulationMetrics:
    """One population's headline numbers (the report's ``populations.<name>`` entry; rates in Hz).

    ``gamma_*`` are spike-by-spike coincidence factors (meaningful for feed-forward
    populations; 1 for a population that, like its reference, never spikes); ``state_rmse``
    the RMSE of each recorded state (SI units; empty unless the run recorded its states);
    ``statistics`` holds the rate, CV and correlation KS distances, the rhythm
    and the divergence onset (for recurrent populations), each beside the float floor.
    """

    name: str
    size: int
    kind: str
    driven: str
    rate_reference_hz: float
    rate_candidate_hz: float
    rate_floor_hz: float | None
    gamma_mean: float | None
    gamma_worst: float | None
    gamma_floor: float | None
    statistics: Mapping
    state_rmse: Mapping = MappingProxyType({})

    @classmethod
    def from_report(cls, name: str, data: Mapping) -> "PopulationMetrics":
        rates, gamma = data["rates_hz"], data["gamma"]
        return cls(name=name, size=data["size"], kind=data["kind"], driven=data["driven"],
                   rate_reference_hz=rates["reference"], rate_candidate_hz=rates["candidate"],
                   rate_floor_hz=rates["floor"], gamma_mean=gamma["mean"], gamma_worst=gamma["worst"],
                   gamma_floor=gamma["floor"], statistics=MappingProxyType(dict(data["statistics"])),
                   state_rmse=MappingProxyType(dict(data.get("state_rmse", {}))))


@dataclass(frozen=True, eq=False)
class NetworkReport:
    """The fidelity report of a network run (see the module docstring).

    Attributes
    ----------
    data : Mapping
        The report as plain data (:func:`~neuromorph.network.comparison.build_report`).
    result : NetworkResult
        The run: reference and candidate traces, lowering, statistics.
    """

    data: Mapping
    result: object

    @property
    def populations(self) -> dict[str, PopulationMetrics]:
        """Per population its :class:`PopulationMetrics`."""
        return {name: PopulationMetrics.from_report(name, entry) for name, entry in self.data["populations"].items()}

    @property
    def problems(self) -> dict[str, str]:
        """Overflows per population and clipped weights per projection (empty if none)."""
        return network_problems(self.data)

    @property
    def spike_trains(self) -> dict[str, dict[str, tuple]]:
        """Per population the spike times (s) of every neuron: ``reference``, ``candidate``, ``floor`` (or None)."""
        result, trains = self.result, {}
        for name in self.data["populations"]:
            floor = result.floor.populations[name].spike_trains if result.floor is not None else None
            trains[name] = {"reference": result.reference.populations[name].spike_trains,
                            "candidate": spike_trains_from(result.candidate.populations[name].spikes, result.spec.dt),
                            "floor": floor}
        return trains

    def table(self) -> str:
        """The table ``neuromorph network`` prints."""
        return format_network_table(self.data)

    def to_dict(self) -> dict:
        """The report as plain JSON-able data (non-finite numbers as None)."""
        return json_safe(self.data)

    def to_json(self, path: str | Path) -> Path:
        """Write the report as ``neuromorph network``'s ``report.json`` and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False))
        return path

    def plot(self, path: str | Path) -> list[Path]:
        """The CLI's figures: rasters and population rates (Brian2 against fixed point) and each
        population's statistics, and the traces of the states the report compared
        (``state_rmse``: when the run recorded them, e.g. for a population without a
        threshold). ``path`` is a directory (``activity.png``, ``statistics_<population>.png``,
        ``states_<population>.png``) or the activity figure's file name (the others beside
        it). Returns the files written."""
        from .network.plots import plot_activity, plot_statistics  # matplotlib only when plotting

        path = Path(path)
        activity = path if path.suffix else path / "activity.png"
        activity.parent.mkdir(parents=True, exist_ok=True)
        result, trains = self.result, self.spike_trains
        names = list(self.data["populations"])
        title = f"Brian2 vs {result.candidate.label} on {self.data['target']}"
        written = [plot_activity([(result.statistics[n], trains[n]["reference"], trains[n]["candidate"])
                                  for n in names], activity, title=title)]
        for name in names:
            written.append(plot_statistics(result.statistics[name], activity.with_name(f"statistics_{name}.png"),
                                           title=f"{name} on {self.data['target']}"))
            if self.data["populations"][name].get("state_rmse"):
                written.append(self._plot_states(name, activity.with_name(f"states_{name}.png")))
        return [Path(p) for p in written]

    def _plot_states(self, name: str, path: Path, neurons: int = 3) -> Path:
        """Reference and fixed-point traces of the states the report compared (a few recorded neurons)."""
        from .network.plots import plot_states
        from .network.states import states_at_steps

        result, data = self.result, self.data["populations"][name]
        reference = result.reference.populations[name]
        steps = np.round(np.asarray(reference.t) / result.spec.dt).astype(np.int64)
        columns = np.arange(min(neurons, len(reference.recorded)))
        recorded = np.asarray(reference.recorded, dtype=np.int64)[columns]
        candidate = states_at_steps(result.lowered.population(name), result.candidate.populations[name], steps,
                                    recorded)
        shown = {state: np.asarray(values)[:, columns] for state, values in reference.states.items()
                 if state in data["state_rmse"]}
        return plot_states(name, np.asarray(reference.t), shown, candidate, data["state_rmse"], path,
                           neurons=recorded, voltage=data["voltage"],
                           title=f"{name}: Brian2 vs {result.candidate.label} on {self.data['target']}")

    def __getitem__(self, key: str):
        return self.data[key]

    def __getattr__(self, name: str) -> PopulationMetrics:
        if name.startswith("_") or name in ("data", "result"):
            raise AttributeError(name)
        if name in self.data["populations"]:
            return PopulationMetrics.from_report(name, self.data["populations"][name])
        raise AttributeError(f"the report has no attribute or population {name!r}; populations: "
                             f"{sorted(self.data['populations'])}")

    def __str__(self) -> str:
        return self.table()
