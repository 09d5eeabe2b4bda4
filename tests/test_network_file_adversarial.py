"""Adversarial network files and options (issue 21, the second pass): every malformed or absurd field of a
network file, and every bad option of ``neuromorph network``, is refused before any simulation with exit
status 2 and one line ``neuromorph: error: FILE:FIELD: what is wrong; what is allowed``, or the network
runs (a case marked ``None``: ``export`` writes a loadable network). Each case is an edit of the small
network of ``test_network_hardening``; the classes: sizes, names, units, seeds, durations and dt, weights,
delays, probabilities, connectivity, sources, effects, methods, thresholds, resets, refractoriness,
initial values, parameters, equations, model files, unknown keys, options."""
import pytest

from neuromorph.cli import main
from neuromorph.network.export import load_export

from .test_network_hardening import NETWORK

#: name -> (edits of NETWORK: (old, new) pairs, text appended, exit status, start of the one-line message
#: after 'neuromorph: error: ' (None: the network runs)).
FILE_CASES = {
    'size 0': ([('size = 4', 'size = 0')], '',
        2, 'net.toml:populations.L.size: must be greater than or equal to 1, got 0'),
    'size negative': ([('size = 4', 'size = -3')], '',
        2, 'net.toml:populations.L.size: must be greater than or equal to 1, got -3'),
    'size float': ([('size = 4', 'size = 1.5')], '', 2, 'net.toml:populations.L.size: must be an integer, got 1.5'),
    'size string': ([('size = 4', 'size = "4"')], '', 2, "net.toml:populations.L.size: must be an integer, got '4'"),
    'size bool': ([('size = 4', 'size = true')], '', 2, 'net.toml:populations.L.size: must be an integer, got True'),
    'size beyond TOML int': ([('size = 4', 'size = 100000000000000000000000000000')], '',
        2, 'net.toml:populations.L.size: must be less than or equal to 10000000, got 10000000000000000'),
    'size 10^12': ([('size = 4', 'size = 1000000000000')], '',
        2, 'net.toml:populations.L.size: must be less than or equal to 10000000, got 1000000000000'),
    'source size 0': ([('size = 5', 'size = 0')], '',
        2, 'net.toml:sources.noise.size: must be greater than or equal to 1, got 0'),
    'population named like the source': ([('[populations.L]', '[populations.noise]'), ('target = "L"', 'target = "noise"')], '',
        2, "net.toml:sources.noise: name 'noise' is used twice (also in populations); names must be un"),
    'population name non-ASCII': ([('[populations.L]', '[populations."Lé"]'), ('target = "L"', 'target = "Lé"')], '',
        2, 'net.toml:populations.Lé: must be a name: a letter, then letters, digits or underscores, go'),
    'population name starting with a digit': ([('[populations.L]', '[populations.1L]'), ('target = "L"', 'target = "1L"')], '',
        2, 'net.toml:populations.1L: must be a name: a letter, then letters, digits or underscores, go'),
    'population named mV': ([('[populations.L]', '[populations.mV]'), ('target = "L"', 'target = "mV"')], '', 0, None),
    'population named like a Brian2 object': ([('[populations.L]', '[populations.neurongroup]'), ('target = "L"', 'target = "neurongroup"')], '',
        0, None),
    'weight in nS for a volt': ([('weight = "6 * mV"', 'weight = "6 * nS"')], '',
        2, 'net.toml:projections.noise_to_L.weight: expected a quantity '),
    'dimensionless weight': ([('weight = "6 * mV"', 'weight = "6"')], '',
        2, "net.toml:projections.noise_to_L.weight: '6' needs units of m^2 kg s^-3 A^-1"),
    'delay in mV': ([('delay = "0.5 * ms"', 'delay = "0.5 * mV"')], '',
        2, 'net.toml:projections.noise_to_L.delay: expected a quantity i'),
    'rate in ms': ([('rate = "500 * Hz"', 'rate = "500 * ms"')], '',
        2, 'net.toml:sources.noise.rate: expected a quantity in s^-1, go'),
    'dt in mV': ([('dt = "0.1 * ms"', 'dt = "0.1 * mV"')], '',
        2, "net.toml:simulation.dt: expected a quantity in s, got '0.1 *"),
    'tau in mV': ([('tau_v = "10 * ms"', 'tau_v = "10 * mV"')], '',
        2, 'net.toml:populations.L.equations: inconsistent units: "Inconsistent units in differential '),
    'initial v in nA': ([('low = "0 * mV"', 'low = "0 * nA"')], '',
        2, 'net.toml:populations.L.initial.v.low: expected a quantity in'),
    'seed -1': ([('seed = 2', 'seed = -1')], '',
        2, 'net.toml:simulation.seed: must be greater than or equal to 0, got -1'),
    'seed 2^32': ([('seed = 2', 'seed = 4294967296')], '',
        2, 'net.toml:simulation.seed: must be less than or equal to 4294967295, got 4294967296'),
    'seed float': ([('seed = 2', 'seed = 1.5')], '', 2, 'net.toml:simulation.seed: must be an integer, got 1.5'),
    'seed string': ([('seed = 2', 'seed = "2"')], '', 2, "net.toml:simulation.seed: must be an integer, got '2'"),
    'connect seed -5': ([('p = 0.8 }', 'p = 0.8, seed = -5 }')], '',
        2, 'net.toml:projections.noise_to_L.connect.seed: must be greater than or equal to 0, got -5'),
    'weight seed 2^40': ([('weight = "6 * mV"', 'weight = { distribution = "uniform", low = "1 * mV", high = "2 * mV", seed = 1099511627776 }')], '',
        2, 'net.toml:projections.noise_to_L.weight.seed: must be less than or equal to 4294967295, got'),
    'duration 0': ([('duration = "3 * ms"', 'duration = "0 * ms"')], '',
        2, "net.toml:simulation.duration: must be > 0, got '0 * ms'"),
    'duration negative': ([('duration = "3 * ms"', 'duration = "-3 * ms"')], '',
        2, "net.toml:simulation.duration: must be > 0, got '-3 * ms'"),
    'dt 0': ([('dt = "0.1 * ms"', 'dt = "0 * ms"')], '', 2, "net.toml:simulation.dt: must be > 0, got '0 * ms'"),
    'dt 1e999': ([('dt = "0.1 * ms"', 'dt = "1e999 * ms"')], '',
        2, 'net.toml:simulation.dt: a number is too large for a 64-bit f'),
    'duration inf': ([('duration = "3 * ms"', 'duration = "inf * ms"')], '',
        2, "net.toml:simulation.duration: unknown unit 'inf' in 'inf * m"),
    'dt nan': ([('dt = "0.1 * ms"', 'dt = "nan * ms"')], '',
        2, "net.toml:simulation.dt: unknown unit 'nan' in 'nan * ms'"),
    'dt longer than duration': ([('dt = "0.1 * ms"', 'dt = "5 * ms"')], '', 0, None),
    'duration TOML inf': ([('duration = "3 * ms"', 'duration = inf')], '',
        2, 'net.toml:simulation.duration: must be a finite number, got inf'),
    'weight 1e999': ([('weight = "6 * mV"', 'weight = "1e999 * mV"')], '',
        2, 'net.toml:projections.noise_to_L.weight: a number is too larg'),
    'weight normal std negative': ([('weight = "6 * mV"', 'weight = { distribution = "normal", mean = "1 * mV", std = "-1 * mV" }')], '',
        2, 'net.toml:projections.noise_to_L.weight.std: must be >= 0'),
    'weight lognormal mean negative': ([('weight = "6 * mV"', 'weight = { distribution = "lognormal", mean = "-1 * mV", std = "1 * mV" }')], '',
        2, 'net.toml:projections.noise_to_L.weight: a lognormal distribution needs mean > 0'),
    'weight uniform low > high': ([('weight = "6 * mV"', 'weight = { distribution = "uniform", low = "3 * mV", high = "1 * mV" }')], '',
        2, 'net.toml:projections.noise_to_L.weight: needs low <= high'),
    'weight cauchy': ([('weight = "6 * mV"', 'weight = { distribution = "cauchy", mean = "1 * mV", std = "1 * mV" }')], '',
        2, 'net.toml:projections.noise_to_L.weight.distribution: must be'),
    'weight normal without std': ([('weight = "6 * mV"', 'weight = { distribution = "normal", mean = "1 * mV" }')], '',
        2, 'net.toml:projections.noise_to_L.weight.std: missing required key'),
    'weight list': ([('weight = "6 * mV"', 'weight = ["1 * mV", "2 * mV"]')], '',
        2, 'net.toml:projections.noise_to_L.weight: expected a number or'),
    'weight 0': ([('weight = "6 * mV"', 'weight = "0 * mV"')], '', 0, None),
    'weight 1e30 mV': ([('weight = "6 * mV"', 'weight = "1e30 * mV"')], '',
        2, 'net.toml:populations.L.threshold: threshold 0.01 V above reset cannot be resolved within L'),
    'delay negative': ([('delay = "0.5 * ms"', 'delay = "-1 * ms"')], '',
        2, 'net.toml:projections.noise_to_L.delay: delays must be >= 0'),
    'delay normal': ([('delay = "0.5 * ms"', 'delay = { distribution = "normal", mean = "1 * ms", std = "1 * ms" }')], '',
        2, 'net.toml:projections.noise_to_L.delay.mean: unknown key; all'),
    'delay uniform negative low': ([('delay = "0.5 * ms"', 'delay = { distribution = "uniform", low = "-1 * ms", high = "1 * ms" }')], '',
        2, 'net.toml:projections.noise_to_L.delay: delays must be >= 0'),
    'delay 1e300 s': ([('delay = "0.5 * ms"', 'delay = "1e300 * second"')], '',
        2, 'net.toml:projections.noise_to_L.delay: a delay of 1e+300 s is 1e+304 steps of dt = 0.0001 '),
    'p 1.5': ([('p = 0.8', 'p = 1.5')], '',
        2, 'net.toml:projections.noise_to_L.connect.p: must be less than or equal to 1, got 1.5'),
    'p negative': ([('p = 0.8', 'p = -0.1')], '',
        2, 'net.toml:projections.noise_to_L.connect.p: must be greater than or equal to 0, got -0.1'),
    'p string': ([('p = 0.8', 'p = "0.5"')], '', 2, 'net.toml:projections.noise_to_L.connect.p: must be a number,'),
    'p nan': ([('p = 0.8', 'p = nan')], '',
        2, 'net.toml:projections.noise_to_L.connect.p: must be a finite number, got nan'),
    'one_to_one of unequal sizes': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "one_to_one" }')], '',
        2, 'net.toml:projections.noise_to_L.connect: one_to_one needs groups of equal size, got 5 and '),
    'explicit of unequal lengths': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "explicit", i = [0, 1], j = [0] }')], '',
        2, 'net.toml:projections.noise_to_L.connect: the explicit rule needs lists i and j of equal le'),
    'explicit index out of range': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "explicit", i = [0], j = [99] }')], '',
        2, 'net.toml:projections.noise_to_L.j: index 99 out of range for'),
    'explicit negative index': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "explicit", i = [-1], j = [0] }')], '',
        2, 'net.toml:projections.noise_to_L.connect.i.0: must be greater than or equal to 0, got -1'),
    'explicit index 2^70': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "explicit", i = [0], j = [1180591620717411303424] }')], '',
        2, 'net.toml:projections.noise_to_L.connect.j.0: must be less than 10000000, got 1180591620717'),
    'rule gaussian': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "gaussian", sigma = 1 }')], '',
        2, 'net.toml:projections.noise_to_L.connect.rule: must be one of'),
    'no connect': ([('connect = { rule = "probability", p = 0.8 }\n', '')], '',
        2, 'net.toml:projections.noise_to_L.connect: missing required key'),
    'probability with i, j': ([('connect = { rule = "probability", p = 0.8 }', 'connect = { rule = "probability", p = 0.8, i = [0] }')], '',
        2, 'net.toml:projections.noise_to_L.connect.i: unknown key; allo'),
    'source kind bursting': ([('kind = "poisson"', 'kind = "bursting"')], '',
        2, "net.toml:sources.noise.kind: must be one of 'poisson', 'spik"),
    'negative rate': ([('rate = "500 * Hz"', 'rate = "-5 * Hz"')], '',
        2, "net.toml:sources.noise.rate: must be >= 0, got '-5 * Hz'"),
    'rate list of the wrong length': ([('rate = "500 * Hz"', 'rate = ["5 * Hz", "6 * Hz"]')], '',
        2, 'net.toml:sources.noise.rates_hz: needs 5 rates >= 0 Hz, got 2 values (min 5)'),
    'rate 1e999': ([('rate = "500 * Hz"', 'rate = "1e999 * Hz"')], '',
        2, 'net.toml:sources.noise.rate: a number is too large for a 64-'),
    'rate above 1/dt': ([('rate = "500 * Hz"', 'rate = "1e9 * Hz"')], '', 0, None),
    'spike times of unequal length': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0, 1]\ntimes = ["1 * ms"]\n',
        2, 'net.toml:sources.cue.times_s: 2 indices but 1 times'),
    'spike index beyond the source': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [5]\ntimes = ["1 * ms"]\n',
        2, 'net.toml:sources.cue.indices: indices must be in [0, 2), got 5..5'),
    'time_unit with strings': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0]\ntimes = ["1 * ms"]\ntime_unit = "ms"\n',
        2, 'net.toml:sources.cue.times: with time_unit, times must be plain numbers'),
    'time_unit of volts': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0]\ntimes = [1]\ntime_unit = "mV"\n',
        2, 'net.toml:sources.cue.time_unit: expected a quantity in s, go'),
    'negative spike time': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0]\ntimes = ["-1 * ms"]\n',
        2, 'net.toml:sources.cue.times_s: spike times must be >= 0 s, got -0.001'),
    'spike after the run': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0]\ntimes = ["100 * ms"]\n',
        0, None),
    'two spikes in one step': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0, 0]\ntimes = ["1 * ms", "1.01 * ms"]\n',
        2, 'net.toml:sources.cue.times_s: train 0 spikes twice in step 10 (dt = 0.0001 s); at most one'),
    'spike times as booleans': ([], '\n[sources.cue]\nkind = "spike_times"\nsize = 2\nindices = [0]\ntimes = [true]\ntime_unit = "ms"\n',
        2, 'net.toml:sources.cue.times.0: expected a number or a quantit'),
    'current of an unknown target': ([], '\n[sources.drive]\nkind = "current"\ntarget = "X"\nvariable = "I"\nstimulus = { kind = "step", amplitude = "1 * mV" }\n',
        2, "net.toml:sources.drive.target: unknown target 'X'; populatio"),
    'current into a state': ([], '\n[sources.drive]\nkind = "current"\ntarget = "L"\nvariable = "v"\nstimulus = { kind = "step", amplitude = "1 * mV" }\n',
        2, "net.toml:sources.drive.variable: 'v' is not a parameter decl"),
    'current of a source': ([], '\n[sources.drive]\nkind = "current"\ntarget = "noise"\nvariable = "I"\nstimulus = { kind = "step", amplitude = "1 * mV" }\n',
        2, "net.toml:sources.drive.target: unknown target 'noise'; popul"),
    'effect *=': ([('effect = "I += w"', 'effect = "I *= w"')], '',
        2, "net.toml:projections.noise_to_L.effect: 'I *= w' is not supp"),
    'effect 2*w': ([('effect = "I += w"', 'effect = "I += 2*w"')], '',
        2, "net.toml:projections.noise_to_L.effect: 'I += 2*w' is not su"),
    'effect empty': ([('effect = "I += w"', 'effect = ""')], '',
        2, 'net.toml:projections.noise_to_L.effect: must have at least 1'),
    'effect unknown variable': ([('effect = "I += w"', 'effect = "nope += w"')], '',
        2, "net.toml:projections.noise_to_L.effect: 'nope += w' is not s"),
    'effect code injection': ([('effect = "I += w"', 'effect = "I += w; import os"')], '',
        2, "net.toml:projections.noise_to_L.effect: 'I += w; import os' "),
    'effect on t': ([('effect = "I += w"', 'effect = "t += w"')], '',
        2, "net.toml:projections.noise_to_L.effect: 't += w' is not supp"),
    'method int': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nmethod = 3')], '',
        2, "net.toml:populations.L.method: must be one of 'linear', 'exa"),
    'method independent': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nmethod = "independent"')], '', 0, None),
    'method gsl': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nmethod = "gsl"')], '',
        2, "net.toml:populations.L.method: Brian2's gsl needs the GNU Scientific Library and generated"),
    'threshold in nA': ([('threshold = "v > 10*mV"', 'threshold = "v > 10*nA"')], '',
        2, 'net.toml:populations.L.threshold: expected a quantity in m^2'),
    'threshold syntax': ([('threshold = "v > 10*mV"', 'threshold = "v >"')], '',
        2, "net.toml:populations.L.threshold: 'v >' is not supported: wr"),
    'threshold empty': ([('threshold = "v > 10*mV"', 'threshold = ""')], '',
        2, 'net.toml:populations.L.threshold: must have at least 1 chara'),
    'threshold unknown name': ([('threshold = "v > 10*mV"', 'threshold = "v > theta"')], '',
        2, "net.toml:populations.L.threshold: uses ['theta'], which are neither state variables, param"),
    'threshold a number': ([('threshold = "v > 10*mV"', 'threshold = "1"')], '',
        2, "net.toml:populations.L.threshold: '1' is not supported: writ"),
    'threshold a dunder': ([('threshold = "v > 10*mV"', 'threshold = "v.__class__ > 0"')], '',
        2, "net.toml:populations.L.threshold: uses ['__class__'], which are neither state variables, p"),
    'reset in nA': ([('reset = "v = 0*mV"', 'reset = "v = 0*nA"')], '',
        2, 'net.toml:populations.L.reset: expected a quantity in m^2 kg '),
    'reset unknown variable': ([('reset = "v = 0*mV"', 'reset = "w = 0*mV"')], '',
        2, "net.toml:populations.L.reset: uses ['w'], which are neither state variables, parameters no"),
    'reset with a second statement': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV; import os"')], '',
        2, "net.toml:populations.L.reset: uses ['import', 'os'], which are neither state variables, pa"),
    'refractory negative': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nrefractory = "-2 * ms"')], '',
        2, 'net.toml:populations.L.refractory: refractory duration must '),
    'refractory 1e999': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nrefractory = "1e999 * ms"')], '',
        2, 'net.toml:populations.L.refractory: a number is too large for'),
    'refractory int': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nrefractory = 5')], '',
        2, 'net.toml:populations.L.refractory: must be a duration such a'),
    'refractory longer than the run': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nrefractory = "1e6 * second"')], '',
        0, None),
    'initial of an unknown state': ([('initial = { v =', 'initial = { x = "1 * mV", v =')], '',
        2, 'net.toml:populations.L.initial.x: not a state variable; stat'),
    'initial v missing': ([('initial = { v = { distribution = "uniform", low = "0 * mV", high = "10 * mV" } }', 'initial = {}')], '',
        2, 'net.toml:populations.L.initial.v: the initial membrane potential is required'),
    'initial uniform low > high': ([('low = "0 * mV", high = "10 * mV"', 'low = "10 * mV", high = "0 * mV"')], '',
        2, 'net.toml:populations.L.initial.v: needs low <= high'),
    'initial normal negative std': ([('{ distribution = "uniform", low = "0 * mV", high = "10 * mV" }', '{ distribution = "normal", mean = "0 * mV", std = "-1 * mV" }')], '',
        2, 'net.toml:populations.L.initial.v.std: must be >= 0'),
    'initial 1e999': ([('{ distribution = "uniform", low = "0 * mV", high = "10 * mV" }', '"1e999 * mV"')], '',
        2, 'net.toml:populations.L.initial.v: a number is too large for '),
    'parameter unused': ([('tau_I = "5 * ms" }', 'tau_I = "5 * ms", foo = "1 * ms" }')], '',
        2, 'net.toml:populations.L.parameters.foo: not used by the equations, threshold, reset or refr'),
    'parameter named exp': ([('tau_I = "5 * ms" }', 'tau_I = "5 * ms", exp = "1 * ms" }')], '',
        2, "net.toml:populations.L.parameters.exp: 'exp' is a Brian2 function; a parameter may not sha"),
    'parameter tau 0': ([('tau_v = "10 * ms"', 'tau_v = "0 * ms"')], '',
        2, "net.toml:populations.L.equations: cannot lower 'dv/dt = (-v "),
    'parameter tau negative': ([('tau_v = "10 * ms"', 'tau_v = "-10 * ms"')], '', 0, None),
    'parameter 1e999': ([('tau_v = "10 * ms"', 'tau_v = "1e999 * ms"')], '',
        2, 'net.toml:populations.L.parameters.tau_v: a number is too lar'),
    'parameter missing': ([('parameters = { tau_v = "10 * ms", tau_I = "5 * ms" }', 'parameters = { tau_v = "10 * ms" }')], '',
        2, "net.toml:populations.L.equations: uses ['tau_I'], which are neither state variables, param"),
    'equations empty': ([('dv/dt = (-v + I) / tau_v : volt\ndI/dt = -I / tau_I : volt', '')], '',
        2, 'net.toml:populations.L.equations: must have at least 1 chara'),
    'equations without v': ([('dv/dt = (-v + I) / tau_v : volt', 'du/dt = (-u + I) / tau_v : volt')], '',
        2, "net.toml:populations.L.threshold: uses ['v'], which are neither state variables, parameter"),
    'voltage is I': ([('reset = "v = 0*mV"', 'reset = "v = 0*mV"\nvoltage = "I"')], '',
        2, "net.toml:populations.L.threshold: 'v > 10*mV' is not support"),
    'model file missing': ([('equations = """', 'model = "nope.toml"\nequations = """')], '',
        2, "net.toml:populations.L.model: model file 'nope.toml' not found (paths are relative to the "),
    'model file is /dev/zero': ([('equations = """', 'model = "/dev/zero"\nequations = """')], '',
        2, "net.toml:populations.L.model: model file '/dev/zero' is not a regular file (a directory, d"),
    'unknown section': ([], '\n[plasticity]\nrule = "stdp"\n',
        2, "net.toml:plasticity: unknown key; allowed: ['populations', '"),
    'unknown projection key': ([('effect = "I += w"', 'effect = "I += w"\nplastic = true')], '',
        2, 'net.toml:projections.noise_to_L.plastic: unknown key; allowe'),
    'projection to a source': ([('target = "L"', 'target = "noise"')], '',
        2, "net.toml:projections.noise_to_L.target: unknown population '"),
    'projection from nowhere': ([('source = "noise"', 'source = "nowhere"')], '',
        2, 'net.toml:projections.noise_to_L.source: unknown population o'),
}

#: name -> (arguments of `neuromorph network`, exit status, start of the message).
OPTION_CASES = {
    '--state-bits 1': (['--state-bits', '1'], 2, '--state-bits: must be from 2 to 64'),
    '--window 0': (['--window', '0'], 2, '--window: must be a finite time in ms'),
    '--window nan': (['--window', 'nan'], 2, '--window: must be a finite time in ms'),
    '--backend gpu': (['--backend', 'gpu'], 2, "argument --backend: invalid choice: 'gpu'"),
    '--headroom inf': (['--headroom', 'inf'], 2, '--headroom: must be a finite factor'),
    '--lut-size 3': (['--lut-size', '3'], 2, '--lut-size: lookup-table size must be a power of two'),
    '--gate-bits 99': (['--gate-bits', '99'], 2, '--gate-bits: must be from 2 to 64'),
    '--target /dev/zero': (['--target', '/dev/zero'], 2, '/dev/zero: is not a regular file'),
    '--config missing': (['--config', '/nonexistent.toml'], 2, '/nonexistent.toml: file not found'),
    '--network-seed 1e3': (['--network-seed', '1e3'], 2, 'argument --network-seed: invalid int value'),
    '--residual-bits 0': (['--residual-bits', '0', '--rounding', 'error_feedback'],
        2, '--residual-bits: residual_bits must be from 1 to 32'),
    '--seed -1': (['--seed', '-1'], 2, '--seed: must be a seed from 0 to 4294967295'),
    '--method rk4': (['--method', 'rk4'], 2, "argument --method: invalid choice: 'rk4'"),
    '--out a file': (['--out', '/tmp/h/adv/afile'], 2, '--out: '),
}


def _network(tmp_path, edits, extra):
    text = NETWORK
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "net.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def _run(capsys, argv):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse refuses an option before main's handler
        status = exc.code
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "internal error" not in err, err
    return status, err


@pytest.mark.parametrize("command", ["export", "network"])
@pytest.mark.parametrize("name", [n for n, case in FILE_CASES.items() if case[2] != 0])
def test_a_bad_network_file_is_refused_in_one_line(tmp_path, capsys, command, name):
    edits, extra, expected, message = FILE_CASES[name]
    path = _network(tmp_path, edits, extra)
    status, err = _run(capsys, [command, path, "--out", tmp_path / "out", *(["--no-floor"] if command == "network"
                                                                            else [])])
    line = err.splitlines()[-1]
    assert status == expected and line.startswith("neuromorph: error: "), err
    assert line.removeprefix("neuromorph: error: ").startswith(f"{tmp_path}/{message}"), line
    assert "reference: Brian2" not in err or name == "weight 1e30 mV"  # refused before any run (one exception)
    assert not (tmp_path / "out" / "report.json").exists() and not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("name", [n for n, case in FILE_CASES.items() if case[2] == 0])
def test_an_odd_but_valid_network_file_runs(tmp_path, capsys, name):
    edits, extra, _, _ = FILE_CASES[name]
    status, err = _run(capsys, ["export", _network(tmp_path, edits, extra), "--out", tmp_path / "out", "--codegen",
                                "numpy"])
    assert status == 0, err
    assert load_export(tmp_path / "out").populations


@pytest.mark.parametrize("name", list(OPTION_CASES))
def test_a_bad_option_is_refused_in_one_line(tmp_path, capsys, name):
    args, expected, message = OPTION_CASES[name]
    (tmp_path / "afile").write_text("x")
    args = [str(tmp_path / "afile") if a == "/tmp/h/adv/afile" else a for a in args]
    out = [] if "--out" in args else ["--out", tmp_path / "out"]
    status, err = _run(capsys, ["network", _network(tmp_path, [], ""), *out, *args])
    assert status == expected and len(err.splitlines()) >= 1, err
    assert message in err.splitlines()[-1], err
    assert not (tmp_path / "out" / "report.json").exists()
