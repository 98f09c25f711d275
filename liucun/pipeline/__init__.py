"""The daily run, the dashboard aggregates it precomputes, and the early-warning alerts."""
