"""Networks: populations, sources and projections exported to Lava process graphs, and their fidelity."""
