"""Jupyter "instructable widgets", generated from the config schema and bound to the core."""
