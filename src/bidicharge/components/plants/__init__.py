"""Customer plants (C-PLANTS): PV system, home battery, heat pump, and the household's own
demand, each an electrical node behind the meter (I-39) and, where controllable, a plant
the HEMS reads and commands (I-08)."""

from bidicharge.components.plants.heat_pump import HeatPump
from bidicharge.components.plants.home_battery import HomeBattery
from bidicharge.components.plants.household_load import HouseholdLoad
from bidicharge.components.plants.pv_system import PvSystem

__all__ = ["HeatPump", "HomeBattery", "HouseholdLoad", "PvSystem"]
