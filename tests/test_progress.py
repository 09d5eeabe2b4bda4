"""Progress bars: tqdm on a terminal, nothing under --json or when stderr is not a terminal."""
import io

import numpy as np

from neuromorph.progress import bar_factory, no_bars, step_counter, tqdm_bars


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Recorder:
    """A bar factory that remembers how far each bar went."""

    def __init__(self):
        self.bars = {}

    def __call__(self, total, description="", unit="it"):
        recorder = self

        class Bar:
            def __enter__(self):
                recorder.bars[description] = [total, 0]
                return self

            def __exit__(self, *exc):
                return None

            def update(self, n=1):
                recorder.bars[description][1] += n

        return Bar()


def test_bars_only_on_a_terminal_and_not_under_json():
    assert bar_factory(json_output=False, stream=Terminal()) is tqdm_bars
    assert bar_factory(json_output=True, stream=Terminal()) is no_bars
    assert bar_factory(json_output=False, stream=io.StringIO()) is no_bars


def test_a_tqdm_bar_writes_to_its_stream():
    stream = Terminal()
    with tqdm_bars(10, "Brian2", "step", stream=stream) as bar:
        bar.update(10)
    assert "Brian2" in stream.getvalue()


def test_step_counter_reaches_the_total():
    recorder = Recorder()
    with recorder(1234, "loop") as bar:
        done = step_counter(bar, 1234)
        for k in range(1234):
            done(k)
    assert recorder.bars["loop"] == [1234, 1234]


def test_a_loop_started_again_never_moves_the_bar_back():
    """The fused network loop stopped at step 700 of 1,000, then the same steps from 0, stepped."""
    updates = []

    class Bar:
        def update(self, n=1):
            updates.append(n)

    done = step_counter(Bar(), 1000)
    for k in [*range(700), *range(1000)]:
        done(k)
    assert min(updates) > 0 and sum(updates) == 1000


def test_brian2_and_the_emulators_drive_their_bars_to_the_end(squid_file):
    from neuromorph.execution.emulator import emulate_float
    from neuromorph.execution.stimulus import sample_stimulus
    from neuromorph.model.model_file import load_model
    from neuromorph.quantization.formats import RangeProfile
    from neuromorph.quantization.quantize import QuantConfig, quantize
    from neuromorph.network.model_network import run_model_brian2
    from neuromorph.targets import load_target

    from .single_neuron import emulate

    model = load_model(squid_file(duration="5 * ms", neurons=2))
    stimulus = sample_stimulus(model.stimulus, model.simulation)
    recorder = Recorder()
    reference = run_model_brian2(model, stimulus, bars=recorder)
    emulate_float(model, stimulus, bars=recorder)
    target = load_target("loihi2")
    neuron = quantize(model.spec, target, QuantConfig.for_target(target), RangeProfile.from_run(reference.v, stimulus),
                      model.simulation.dt, dict(model.initial))
    emulate(neuron, stimulus, bars=recorder)
    steps = len(stimulus)
    assert recorder.bars == {"Brian2 (numpy)": [steps, steps], "float emulator": [steps, steps],
                             "fixed-point emulator": [steps, steps]}
    assert np.isfinite(reference.v).all()
