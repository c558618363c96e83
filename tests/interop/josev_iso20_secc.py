"""Josev's SECC (PyPI `iso15118`, Apache-2.0) with a controller that commands power both ways.

Runs in Josev's own virtualenv (`.interop/josev-venv`, see tools/interop/josev.sh), inside the
test's network namespace, like `python -m iso15118.secc.main` but with its stock simulator
subclassed (the recipe of ../shared/reference/iso15118_20.md §8): in AC_BPT Dynamic the
EVSETargetActivePower is +11 kW for the first `JOSEV_CHARGE_LOOPS` charge loops, then
−7 kW. Everything else is Josev's own behaviour.
"""

import asyncio
import os

from iso15118.secc import SECCHandler
from iso15118.secc.controller.interface import ServiceStatus
from iso15118.secc.controller.simulator import SimEVSEController
from iso15118.secc.secc_settings import Config
from iso15118.shared.exificient_exi_codec import ExificientEXICodec
from iso15118.shared.messages.iso15118_20.common_types import RationalNumber

CHARGE_LOOPS = int(os.environ.get("JOSEV_CHARGE_LOOPS", "3"))


class BothWaysController(SimEVSEController):
    loops = 0
    output_V = 400.0  # a power stage at the EV battery's voltage until the charger stops

    async def get_evse_present_voltage(self, protocol):
        # Josev's simulator reports 1 V throughout, which no EV may pre-charge against
        return RationalNumber.get_rational_repr(self.output_V)

    async def stop_charger(self):
        self.output_V = 0.0
        return await super().stop_charger()

    async def get_ac_charge_loop_params_v20(self, control_mode, selected_service):
        limits = self.evse_data_context.session_limits.ac_limits
        self.loops += 1
        if self.loops <= CHARGE_LOOPS:
            limits.max_charge_power, limits.max_discharge_power = 11_000, 0
        else:
            limits.max_charge_power, limits.max_discharge_power = 0, 7_000
        limits.max_charge_reactive_power = limits.max_discharge_reactive_power = 0
        return await super().get_ac_charge_loop_params_v20(control_mode, selected_service)


async def main():
    config = Config()
    config.load_envs()
    controller = BothWaysController()
    await controller.set_status(ServiceStatus.STARTING)
    await SECCHandler(exi_codec=ExificientEXICodec(), evse_controller=controller, config=config).start(
        config.iface
    )


if __name__ == "__main__":
    asyncio.run(main())
