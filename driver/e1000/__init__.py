"""The e1000 (Intel 82540EM) network driver."""

from .main import E1000Adapter, E1000Driver, ProbeError

__all__ = ["E1000Adapter", "E1000Driver", "ProbeError"]
