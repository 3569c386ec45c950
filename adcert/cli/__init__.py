"""Command-line entry points; ``tools/*.py`` call their ``main``."""
