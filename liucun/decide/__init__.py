"""Decisions over customer features: segments, lifecycle stages, profiles (and, later,
next-best-action under a budget, control groups and experiment read-outs)."""
