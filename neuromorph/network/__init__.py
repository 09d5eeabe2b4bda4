"""Networks: populations, projections and sources exported to Lava process graphs."""
