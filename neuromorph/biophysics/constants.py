"""Physical constants (CODATA 2018 exact SI values)."""
FARADAY = 96485.33212      # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)
BOLTZMANN = 1.380649e-23    # J/K
ELEMENTARY_CHARGE = 1.602176634e-19  # C
AVOGADRO = 6.02214076e23    # 1/mol
ZERO_CELSIUS = 273.15       # K


def thermal_voltage(T):
    """``RT/F`` in volts at temperature ``T`` (K): 25.69 mV at 25 C, 26.71 mV at 37 C."""
    return GAS_CONSTANT * T / FARADAY
