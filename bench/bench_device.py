"""Device benchmark: Brian2's COBAHH example on Brian2 cython and on the ``'neuromorph'`` device with ``reference=False``.

The script is Brian2's ``examples/COBAHH.py`` as the tests hold it
(``tests/data/brian2_examples/COBAHH.py``: 4,000 Hodgkin-Huxley neurons, about 320,000 synapses,
exponential conductances), with three changes made by this benchmark and by no one else:
``seed(1)`` after the imports and the device line (so that both executions below build the same
network), a
``SpikeMonitor`` on ``P`` (to count the spikes) and the run's duration (``--duration``, 1 s by
default; the example's own is 100 ms). Brian2's side is the script without the two device lines,
on Cython.

Each side runs in a fresh process that executes the script three times, each time in a new
namespace, and times the last execution's ``run()``: everything compiled before (Brian2's Cython
code; the device's neuron kernels and their vectorized rows in the first execution, its fused
network loop in the second, when it sees the network again:
:meth:`neuromorph.network.fused.FusedNetwork.worth_compiling`), so compilation is excluded on both
sides. Brian2 runs ``run(0 * ms)`` just before (its code generation, against its cache), so each
of its executions runs compiled code; its fastest execution is the reference (Brian2's later
executions in one process ran slower here, 5.98, 6.64 and 8.11 s in one run). The
device script's own Brian2 code (initial values, ``connect``) runs on numpy, so that every
execution builds the same network.
The device's time is the whole ``run()``: converting the Brian2 objects, the float profile of the
first steps (:func:`neuromorph.device.profile_steps`), lowering, the fixed-point run and filling
the monitors; the table splits it by stage.

    python bench/bench_device.py [--duration 1.0] [--backend emulator]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "data" / "brian2_examples" / "COBAHH.py"
DEVICE_LINE = "set_device('neuromorph', target='loihi2')"
ADDED_LINES = ("import neuromorph\n", DEVICE_LINE + "\n")
RUN_LINE = "run(100 * ms)"
#: Executions of the script per process; the last is timed.
EXECUTIONS = 3

#: Stages of the device's ``run()`` timed apart: (label, module, function).
STAGES = (("convert the Brian2 objects", "neuromorph.device", "convert"),
          ("Brian2 float runs (profile, sources)", "neuromorph.network.reference", "run_network_brian2"),
          ("lower the network", "neuromorph.network.lower", "lower_network"),
          ("fixed-point run (fused loop)", "neuromorph.network.emulator", "run_network"),
          ("fill the monitors", "neuromorph.device", "fill_monitors"))


def script_text(device: str | None, duration: float) -> str:
    """The example with ``seed(1)``, a spike monitor and ``duration`` s; on the device with options ``device``
    (a ``set_device`` argument list), or plain Brian2 on Cython (None), then ``run(0 * ms)`` before the timed run."""
    text = SCRIPT.read_text()
    if text.count(DEVICE_LINE) != 1 or text.count(RUN_LINE) != 1:
        raise SystemExit(f"{SCRIPT}: expected one device line and one '{RUN_LINE}'")
    if device is None:
        for line in ADDED_LINES:
            text = text.replace(line, "", 1)
        text = text.replace("from brian2 import *\n", "from brian2 import *\nprefs.codegen.target = 'cython'\n", 1)
    else:  # the script's own Brian2 code (initial values, connect) on numpy: Cython's buffered random numbers
        # differ between two executions in one process even after seed(1); the device's float runs choose their own
        text = text.replace(DEVICE_LINE, f"set_device('neuromorph', {device})\nprefs.codegen.target = 'numpy'")
    text = text.replace("# Parameters\n", "seed(1)  # after the imports and set_device: both executions draw the same\n"
                        "# Parameters\n", 1)
    timed = (f"_spikes = SpikeMonitor(P)\n{'run(0 * ms)' if device is None else ''}\n"
             f"_started = time.perf_counter()\nrun({duration!r} * second)\n"
             "_seconds.append(time.perf_counter() - _started)\n_counts.append(int(_spikes.num_spikes))")
    return text.replace(RUN_LINE, timed)


def wrap_stages(totals: dict) -> None:
    """Add each stage's seconds to ``totals`` (label -> seconds) by wrapping the stage's function in its module."""
    import importlib

    for label, module_name, name in STAGES:
        module = importlib.import_module(module_name)
        function = getattr(module, name)

        def timed(*args, _function=function, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                totals[_label] = totals.get(_label, 0.0) + time.perf_counter() - started

        setattr(module, name, timed)


def measure(text: str, stages: bool) -> dict:
    """Execute ``text`` :data:`EXECUTIONS` times in new namespaces; the last execution's run time, spikes and stage
    times, and the run times of all."""
    seconds, counts, totals = [], [], {}
    if stages:
        import neuromorph  # noqa: F401  (registers the device before its functions are wrapped)
        wrap_stages(totals)
    code = compile(text, str(SCRIPT), "exec")
    for execution in range(EXECUTIONS):
        totals.clear()
        exec(code, {"__name__": "__main__", "time": time, "_seconds": seconds, "_counts": counts})
    return {"seconds": seconds[-1], "all_seconds": seconds, "spikes": counts[-1], "all_spikes": counts,
            "stages": dict(totals)}


def in_fresh_process(device: str | None, duration: float) -> dict:
    """:func:`measure` of the script in a new Python process."""
    command = [sys.executable, __file__, "--measure", json.dumps({"device": device, "duration": duration})]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def _listed(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1.0, help="simulated time (s)")
    parser.add_argument("--backend", default="emulator", choices=("emulator", "lava", "both"))
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        job = json.loads(args.measure)
        print(json.dumps(measure(script_text(job["device"], job["duration"]), stages=job["device"] is not None)))
        return
    device = f"target='loihi2', reference=False, backend={args.backend!r}"
    brian = in_fresh_process(None, args.duration)
    ours = in_fresh_process(device, args.duration)
    print(f"Brian2's COBAHH example (4,000 neurons), {args.duration:g} s at dt = 0.1 ms; execution {EXECUTIONS} of "
          f"the script in its process (all executions: Brian2 {_listed(brian['all_seconds'])} s, "
          f"{brian['all_spikes']} spikes; device {_listed(ours['all_seconds'])} s, {ours['all_spikes']} spikes)")
    reference = min(brian["all_seconds"])  # Brian2's fastest execution: every one runs compiled code
    print("| run | wall time (s) | spikes | ratio to Brian2 cython (time) |\n|---|---|---|---|")
    print(f"| Brian2 cython (after `run(0 * ms)`; its fastest execution) | {reference:.2f} | {brian['spikes']} | 1.00 |")
    print(f"| device `{device}` (execution {EXECUTIONS}) | **{ours['seconds']:.2f}** | {ours['spikes']} | "
          f"**{ours['seconds'] / reference:.3f}** |")
    for label, seconds in ours["stages"].items():
        print(f"|   {label} | {seconds:.2f} | - | {seconds / reference:.3f} |")


if __name__ == "__main__":
    main()
