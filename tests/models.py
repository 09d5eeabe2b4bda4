"""Model files written for the tests, independent of examples/ (textbook parameters, cited)."""

# Wang & Buzsaki (1996) interneuron: the Na activation m is instantaneous (m = m_inf(v), no
# differential equation), h and n are alpha/beta gates with a temperature factor phi = 5.
WANG_BUZSAKI = '''
[neuron]
name = "wang_buzsaki"
input = "I_app"
threshold = "v > -20*mV"
refractory = "2*ms"
equations = """
dv/dt = (I_app - g_Na * m_inf**3 * h * (v - E_Na) - g_K * n**4 * (v - E_K) - g_L * (v - E_L)) / C_m : volt
m_inf = alpha_m / (alpha_m + beta_m) : 1
alpha_m = 0.1 * 10 / exprel(-(v + 35*mV) / (10*mV)) / ms : Hz
beta_m = 4 * exp(-(v + 60*mV) / (18*mV)) / ms : Hz
dh/dt = phi * (alpha_h * (1 - h) - beta_h * h) : 1
alpha_h = 0.07 * exp(-(v + 58*mV) / (20*mV)) / ms : Hz
beta_h = 1 / (1 + exp(-(v + 28*mV) / (10*mV))) / ms : Hz
dn/dt = phi * (alpha_n * (1 - n) - beta_n * n) : 1
alpha_n = 0.01 * 10 / exprel(-(v + 34*mV) / (10*mV)) / ms : Hz
beta_n = 0.125 * exp(-(v + 44*mV) / (80*mV)) / ms : Hz
I_app : amp/meter**2
"""

[parameters]
C_m = "1 * uF/cm**2"
g_Na = "35 * mS/cm**2"
g_K = "9 * mS/cm**2"
g_L = "0.1 * mS/cm**2"
E_Na = "55 * mV"
E_K = "-90 * mV"
E_L = "-65 * mV"
phi = 5

[initial]
v = "-64 * mV"

[stimulus]
kind = "ou"
mean = "1 * uA/cm**2"
sigma = "1 * uA/cm**2"
tau = "5 * ms"
seed = 4

[simulation]
dt = "0.01 * ms"
duration = "150 * ms"
neurons = 6
method = "{method}"
'''

# Morris & Lecar (1981) in the type-I parameter set of Rinzel & Ermentrout (1998, in Koch &
# Segev, Methods in Neuronal Modeling, table 7.1): instantaneous Ca activation m_inf(v), one
# slow K gate w with a voltage-dependent time constant.
MORRIS_LECAR = '''
[neuron]
name = "morris_lecar"
input = "I_app"
threshold = "v > 0*mV"
refractory = "v > 0*mV"
equations = """
dv/dt = (I_app - g_Ca * m_inf * (v - E_Ca) - g_K * w * (v - E_K) - g_L * (v - E_L)) / C_m : volt
m_inf = 0.5 * (1 + tanh((v - V1) / V2)) : 1
dw/dt = phi * (w_inf - w) / tau_w : 1
w_inf = 0.5 * (1 + tanh((v - V3) / V4)) : 1
tau_w = ms / cosh((v - V3) / (2 * V4)) : second
I_app : amp/meter**2
"""

[parameters]
C_m = "20 * uF/cm**2"
g_Ca = "4 * mS/cm**2"
g_K = "8 * mS/cm**2"
g_L = "2 * mS/cm**2"
E_Ca = "120 * mV"
E_K = "-84 * mV"
E_L = "-60 * mV"
V1 = "-1.2 * mV"
V2 = "18 * mV"
V3 = "12 * mV"
V4 = "17.4 * mV"
phi = 0.0666667

[initial]
v = "-60 * mV"

[stimulus]
kind = "ou"
mean = "48 * uA/cm**2"
sigma = "15 * uA/cm**2"
tau = "10 * ms"
seed = 2

[simulation]
dt = "0.05 * ms"
duration = "600 * ms"
neurons = 5
method = "{method}"
'''
