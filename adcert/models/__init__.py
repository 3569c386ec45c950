"""Thin adapters between OpenMMLab models and adcert's certifiers.

``loading`` builds a model from config + checkpoint; ``forward`` runs perturbed copies of
a frame through it and converts predictions to arrays; ``data`` builds the test frames.
"""
