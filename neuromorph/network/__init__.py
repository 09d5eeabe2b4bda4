"""Networks: populations, projections and their fidelity on fixed-point hardware."""
