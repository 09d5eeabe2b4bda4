"""Networks: populations, spike sources and projections (IR, Brian2 front end, files, reference)."""
