"""Export a network built the way Brian2's documentation builds it, with three added lines.

The model is Brian2's CUBA example (Brette et al. 2007, benchmark 2: a random network of
integrate-and-fire neurons with exponential synaptic currents), scaled to 400 neurons,
with an excitatory and an inhibitory subgroup, plus what Brian2's "Introduction to
Brian: synapses" tutorial adds: Poisson input through Synapses with per-synapse weights
and random delays, and a SpikeGeneratorGroup cue. The three lines marked ``# added``
are all a script needs to export its network to neuromorph's IR; the rest is Brian2.

Run: ``python examples/network_from_brian2.py`` (prints the exported network, then runs the
original script's network and neuromorph's float reference rebuilt from the IR, and
prints both population rates: statistically equal, not spike for spike, since the Poisson
input is redrawn).
"""
from brian2 import *

from neuromorph.network import from_brian2  # added: import

taum = 20*ms
taue = 5*ms
taui = 10*ms
Vt = -50*mV
Vr = -60*mV
El = -49*mV

eqs = '''
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
'''

P = NeuronGroup(400, eqs, threshold='v>Vt', reset='v = Vr', refractory=5*ms, method='exact')
P.v = 'Vr + rand() * (Vt - Vr)'
P.ge = 0*mV
P.gi = 0*mV
Pe = P[:320]
Pi = P[320:]

we = (60*0.27/10)*mV  # excitatory synaptic weight (voltage)
wi = (-20*4.5/10)*mV  # inhibitory synaptic weight
Ce = Synapses(Pe, P, on_pre='ge += we')
Ci = Synapses(Pi, P, on_pre='gi += wi')
Ce.connect(p=0.1)
Ci.connect(p=0.1)

noise = PoissonGroup(100, rates=10*Hz)
Cn = Synapses(noise, P, 'w : volt', on_pre='ge_post += w')
Cn.connect(p=0.1)
Cn.w = 'rand() * 2*mV'
Cn.delay = '1*ms + rand() * 4*ms'

cue = SpikeGeneratorGroup(5, [0, 1, 2, 3, 4], [50, 60, 70, 80, 90]*ms)
Cc = Synapses(cue, Pe, on_pre='v_post += 5*mV')
Cc.connect(i=[0, 1, 2, 3, 4], j=[0, 10, 20, 30, 40])

s_mon = SpikeMonitor(P)
net = Network(collect())

spec = from_brian2(net, duration=1*second)  # added: call
print(spec.summary())  # added: use

if __name__ == "__main__":
    from neuromorph.network.reference import run_network_brian2

    net.run(1*second)
    print(f"original script: {s_mon.num_spikes / len(P) / (1*second / Hz):.2f} Hz")
    trace = run_network_brian2(spec, record=None)
    rate = trace.populations[P.name].rate_hz(trace.duration)
    print(f"neuromorph float reference ({trace.extra['codegen']}): {rate:.2f} Hz")
