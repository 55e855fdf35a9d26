"""The simulated venue: a matching engine, its agents and labelled misconduct.

``simulate_day`` writes one trading day in the contract's landing layout, with
ground-truth labels of the misconduct it injected (see ``docs/simulator.md``).
"""

from surveillance.simulate.day import SimulationSummary, simulate_day

__all__ = ["SimulationSummary", "simulate_day"]
