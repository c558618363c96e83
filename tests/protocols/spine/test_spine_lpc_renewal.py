"""LPC scenario 1: the Energy Guard renews a limit by writing it again, unchanged.

The duration of a written limit runs from the write that carried it: the same value with the
same duration written again later extends the limit to the new write's end. A partial write
of one direction leaves the other direction's timer alone.
"""

from __future__ import annotations

from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.usecases.energy_guard import EnergyGuard, LimitWriteResult
from bidicharge.protocols.spine.usecases.lpc import (
    ControllableSystem,
    Direction,
    LimitState,
    PowerLimitChanged,
    PowerLimitConfig,
)


class Home:
    def __init__(self) -> None:
        hems_dev = LocalDevice("d:_i:99999_HEMS-2", "EnergyManagementSystem")
        box_dev = LocalDevice("d:_i:99999_Box-2", "ElectricitySupplySystem")
        self.hems, self.box = SpineNode(hems_dev), SpineNode(box_dev)
        self.cs = ControllableSystem(
            self.hems, hems_dev.add_entity("CEM"), now=0.0,
            consumption=PowerLimitConfig(nominal_max_W=22_000, failsafe_limit_W=4_200),
            production=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=0))
        self.eg = EnergyGuard(self.box, box_dev.add_entity("GridGuard"), now=0.0,
                              directions=(Direction.CONSUME, Direction.PRODUCE))
        self.link = MemoryLink()
        self.link.add("hems", self.hems)
        self.link.add("box", self.box)
        self.link.connect("hems", "box", 0.0)
        self.t = 0.0

    def run_until(self, until: float, step: float = 10.0) -> None:
        while self.t <= until:
            self.cs.step(self.t)
            self.eg.step(self.t)
            self.link.pump(self.t)
            self.t += step

    def write(self, direction: Direction, limit_W: float, duration_s: float) -> None:
        self.eg.write_limit("hems", direction, limit_W, self.t, duration_s=duration_s)
        self.link.pump(self.t)
        assert [e.accepted for e in self.eg.events() if isinstance(e, LimitWriteResult)] == [True]


def test_an_identical_rewrite_restarts_the_duration() -> None:
    home = Home()
    home.run_until(10)
    home.write(Direction.CONSUME, 4_200, 900)  # at 20 s: until 920 s
    home.run_until(600)
    list(home.cs.events())
    home.write(Direction.CONSUME, 4_200, 900)  # at 610 s, the very same item: until 1510 s
    renewed = [e for e in home.cs.events() if isinstance(e, PowerLimitChanged)]
    assert [(e.state, e.limit_W, e.now) for e in renewed] == [(LimitState.LIMITED, 4_200, 610.0)]
    home.run_until(1500)
    assert home.cs.state[Direction.CONSUME] is LimitState.LIMITED  # past the first write's end
    assert home.cs.limit_W(Direction.CONSUME) == 4_200
    home.run_until(1530)
    assert home.cs.state[Direction.CONSUME] is LimitState.UNLIMITED_CONTROLLED
    assert home.eg.state_of("hems").active[Direction.CONSUME] is False


def test_a_partial_write_of_one_direction_keeps_the_other_directions_end() -> None:
    home = Home()
    home.run_until(10)
    home.write(Direction.PRODUCE, 0, 300)  # at 20 s: discharge limited until 320 s
    home.run_until(200)
    home.write(Direction.CONSUME, 4_200, 900)  # at 210 s, names only the consumption limit
    home.run_until(330)
    assert home.cs.state[Direction.PRODUCE] is LimitState.UNLIMITED_CONTROLLED  # ended at 320 s
    assert home.cs.state[Direction.CONSUME] is LimitState.LIMITED


def test_a_rewrite_after_the_limit_lapsed_applies_it_again() -> None:
    home = Home()
    home.run_until(10)
    home.write(Direction.CONSUME, 4_200, 60)  # at 20 s, until 80 s
    home.run_until(100)
    assert home.cs.state[Direction.CONSUME] is LimitState.UNLIMITED_CONTROLLED
    home.write(Direction.CONSUME, 4_200, 60)  # the same item as the first write
    assert home.cs.state[Direction.CONSUME] is LimitState.LIMITED
    assert home.cs.limit_W(Direction.CONSUME) == 4_200
