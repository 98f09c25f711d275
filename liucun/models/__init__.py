"""Estimators in the scikit-learn style, each with save/load; no SQL in here."""
