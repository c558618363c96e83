"""bidicharge: the interoperable bidirectional charging system (System Architecture V3.0) in Python."""

__version__ = "0.1.0"
