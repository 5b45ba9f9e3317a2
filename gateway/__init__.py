"""Message-driven inter-department exchange gateway."""

__version__ = "0.1.0"
