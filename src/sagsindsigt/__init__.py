"""Sagsindsigt: management information on the quality of case handling."""

__version__ = "0.1.0"
