"""aims: an AI management system for machine-learning models in production."""

__version__ = "0.1.0"
