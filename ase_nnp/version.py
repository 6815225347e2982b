"""The package version (one place: the model file records it, setup.cfg reads it)."""

__version__ = "0.1.0"
