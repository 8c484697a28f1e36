"""The error every part of the simulation raises when the simulated system would not survive."""


__all__ = ["SimulationError"]


class SimulationError(Exception):
    """The simulated hardware did something a real system would not survive."""
