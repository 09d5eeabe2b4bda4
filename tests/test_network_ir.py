"""Network IR: plain-data round trip, canonical form, validation with located errors."""
import json

import brian2
import numpy as np
import pytest

from neuromorph.errors import InputError
from neuromorph.network.ir import (NetworkSpec, NeuronModel, PoissonSource, Population, Projection, SIQuantity,
                                   SpikeTimesSource, unit_string)
from neuromorph.units import parse_quantity

LIF = "dv/dt = (I - v) / tau : volt\ndI/dt = -I / tau_I : volt\ng : siemens"


def lif_model(initial_v=0.0) -> NeuronModel:
    return NeuronModel(
        name="lif", equations=LIF,
        parameters={"tau": SIQuantity(0.02, "second"), "tau_I": SIQuantity(0.005, "second")},
        threshold="v > 10*mV", reset="v = 0*mV", refractory=0.002, method="exact", voltage="v",
        initial={"v": SIQuantity(initial_v, "volt")})


def network(**changes) -> NetworkSpec:
    """Two populations, one source of each kind, projections of every kind of field."""
    populations = [Population("E", 4, lif_model(np.linspace(0, 0.005, 4))), Population("I", 2, lif_model())]
    sources = [PoissonSource("noise", 3, [5.0, 10.0, 0.0]),
               SpikeTimesSource("cue", 2, [1, 0, 1], [0.002, 0.001, 0.001])]
    projections = [
        Projection("noise_E", "noise", "E", [0, 2], [3, 1], [1e-3, 2e-3], "volt", [1e-3, 0.0], "I"),
        Projection("E_I", "E", "I", [0, 1, 3], [1, 1, 0], [1e-9, 2e-9, 3e-9], "siemens", [0.0, 5e-4, 1e-3], "g", "-="),
        Projection("cue_E", "cue", "E", [], [], [], "volt", [], "v"),
    ]
    kwargs = dict(populations=populations, sources=sources, projections=projections, dt=1e-4, duration=0.05, seed=3)
    kwargs.update(changes)
    return NetworkSpec(**kwargs)


def test_round_trip_through_json_gives_an_equal_spec():
    spec = network()
    text = json.dumps(spec.to_dict())
    again = NetworkSpec.from_dict(json.loads(text))
    assert again == spec
    assert again.to_dict() == spec.to_dict()
    assert isinstance(again.sources[0], SpikeTimesSource) and isinstance(again.sources[1], PoissonSource)
    np.testing.assert_array_equal(again.population("E").model.initial["v"].value, np.linspace(0, 0.005, 4))


def test_equality_sees_a_single_changed_weight():
    spec = network()
    projections = list(spec.projections)
    assert projections[0].name == "E_I"  # sorted by name
    changed = projections[0]
    projections[0] = Projection(changed.name, changed.source, changed.target, changed.i, changed.j,
                                changed.weights + np.array([0, 0, 1e-12]), changed.weight_unit, changed.delays_s,
                                changed.target_variable, changed.operation)
    assert network(projections=projections) != spec


def test_order_is_canonical_and_spike_times_are_sorted():
    spec = network()
    reordered = network(populations=list(reversed(spec.populations)), sources=list(reversed(spec.sources)))
    assert reordered == spec
    assert [p.name for p in spec.populations] == ["E", "I"]
    cue = spec.groups["cue"]
    np.testing.assert_array_equal(cue.times_s, [0.001, 0.001, 0.002])
    np.testing.assert_array_equal(cue.indices, [0, 1, 1])


def test_arrays_are_read_only_and_uniform_arrays_become_scalars():
    spec = network()
    with pytest.raises(ValueError):
        spec.projections[0].weights[0] = 1.0
    assert SIQuantity(np.full(5, -0.065), "volt").value == -0.065
    assert spec.groups["noise"].rates_hz.shape == (3,)
    assert PoissonSource("p", 4, 7.0).rates_hz.tolist() == [7.0] * 4


@pytest.mark.parametrize("unit", [brian2.volt, brian2.siemens, brian2.amp / brian2.meter**2,
                                  brian2.mS / brian2.cm**2, brian2.ufarad / brian2.cm**2, brian2.Hz, brian2.mmolar, 1,
                                  brian2.volt / brian2.second, brian2.second**0.5])
def test_unit_strings_parse_back_with_scale_one_in_both_parsers(unit):
    dims = brian2.get_dimensions(unit)
    text = unit_string(dims)
    parsed = parse_quantity(text)
    assert float(parsed) == 1.0 and brian2.get_dimensions(parsed) == dims
    assert brian2.Equations(f"x : {text}")["x"].dim == dims  # valid as the unit of a Brian2 equation


@pytest.mark.parametrize("build, field", [
    (lambda: network(populations=[Population("E", 4, lif_model()), Population("E", 2, lif_model())]),
     "populations.E"),
    (lambda: network(projections=[Projection("noise", "noise", "E", [0], [0], [1.0], "volt", [0.0], "I")]),
     "projections.noise"),
    (lambda: network(projections=[Projection("x", "noise", "E", [3], [0], [1.0], "volt", [0.0], "I")]),
     "projections.x.i"),
    (lambda: network(projections=[Projection("x", "noise", "E", [0], [4], [1.0], "volt", [0.0], "I")]),
     "projections.x.j"),
    (lambda: network(projections=[Projection("x", "nobody", "E", [0], [0], [1.0], "volt", [0.0], "I")]),
     "projections.x.source"),
    (lambda: network(projections=[Projection("x", "E", "noise", [0], [0], [1.0], "volt", [0.0], "I")]),
     "projections.x.target"),
    (lambda: network(projections=[Projection("x", "E", "I", [0], [0], [1.0], "volt", [0.0], "u")]),
     "projections.x.target_variable"),
    (lambda: network(projections=[Projection("x", "E", "I", [0], [0], [1.0], "siemens", [0.0], "v")]),
     "projections.x.weight_unit"),
    (lambda: network(dt=0.0), "dt"),
    (lambda: network(sources=[SpikeTimesSource("cue", 2, [1, 1], [0.001, 0.00105]), PoissonSource("noise", 3, 1.0)]),
     "sources.cue.times_s"),
    (lambda: network(duration=float("nan")), "duration"),
])
def test_network_checks_name_the_field(build, field):
    with pytest.raises(InputError) as info:
        build()
    assert info.value.field == field


@pytest.mark.parametrize("build, field", [
    (lambda: Projection("x", "a", "b", [0], [0], [1.0], "volt", [-1e-3], "v"), "delays_s"),
    (lambda: Projection("x", "a", "b", [0], [0], [np.inf], "volt", [0.0], "v"), "weights"),
    (lambda: Projection("x", "a", "b", [0, 1], [0], [1.0, 1.0], "volt", [0.0, 0.0], "v"), "j"),
    (lambda: Projection("x", "a", "b", [0], [0], [1.0], "mV", [0.0], "v"), "weight_unit"),
    (lambda: Projection("x", "a", "b", [0], [0], [1.0], "volt", [0.0], "v", "*="), "operation"),
    (lambda: Projection("1x", "a", "b", [0], [0], [1.0], "volt", [0.0], "v"), "name"),
    (lambda: PoissonSource("p", 2, [1.0, -1.0]), "rates_hz"),
    (lambda: SpikeTimesSource("s", 2, [2], [0.0]), "indices"),
    (lambda: SpikeTimesSource("s", 2, [0], [-1.0]), "times_s"),
    (lambda: Population("E", 3, lif_model(np.arange(4) * 1e-3)), "model.initial.v"),
    (lambda: Population("E", 0, lif_model()), "size"),
])
def test_node_checks_name_the_field(build, field):
    with pytest.raises(InputError) as info:
        build()
    assert info.value.field == field


def test_neuron_model_checks_states_units_and_voltage():
    with pytest.raises(InputError, match="not a state variable"):
        NeuronModel("m", LIF, {}, None, None, None, "euler", "v", {"w": SIQuantity(0.0, "volt")})
    with pytest.raises(InputError, match="does not match"):
        NeuronModel("m", LIF, {}, None, None, None, "euler", "v", {"v": SIQuantity(0.0, "siemens")})
    with pytest.raises(InputError) as info:
        NeuronModel("m", LIF, {}, None, None, None, "euler", "u", {})
    assert info.value.field == "voltage"
    with pytest.raises(InputError) as info:
        NeuronModel("m", LIF, {}, None, None, -1.0, "euler", "v", {})
    assert info.value.field == "refractory"


def test_from_dict_errors_are_located():
    data = network().to_dict()
    data["projections"][0]["delays_s"] = [-1.0, 0.0]
    with pytest.raises(InputError) as info:
        NetworkSpec.from_dict(data)
    assert info.value.field == "projections[0].delays_s"
    data = network().to_dict()
    data["sources"][0]["type"] = "Bogus"
    with pytest.raises(InputError, match="unknown source type"):
        NetworkSpec.from_dict(data)
