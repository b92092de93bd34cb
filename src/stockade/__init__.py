"""stockade: a self-hosted security perimeter for AI coding agents."""

__version__ = "0.1.0"
