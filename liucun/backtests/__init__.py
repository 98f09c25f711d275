"""Time-split evaluations of the tasks: churn/value, uplift, recommendations."""
