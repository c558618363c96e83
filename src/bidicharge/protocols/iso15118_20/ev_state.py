"""What the EVCC's owner (the BEV component) tells it about the vehicle."""

from __future__ import annotations

from dataclasses import dataclass

from .cert_install import ProvisioningCredentials
from .pnc import ContractCredentials
from .services import ControlMode, ServiceId


@dataclass(frozen=True, slots=True, kw_only=True)
class EvState:
    """The battery's present state and the EV's limits. Power positive = charging."""

    soc: float  # 0..1
    capacity_Wh: float
    present_power_W: float = 0.0
    max_charge_power_W: float = 11_000.0
    min_charge_power_W: float = 0.0
    max_discharge_power_W: float = 11_000.0
    min_discharge_power_W: float = 0.0
    target_soc: float = 0.8
    min_soc: float = 0.2  # the lowest SoC a discharge may reach
    departure_time_s: int = 8 * 3600  # from now
    # DC
    present_voltage_V: float = 400.0
    max_voltage_V: float = 450.0
    min_voltage_V: float = 200.0
    max_charge_current_A: float = 125.0
    max_discharge_current_A: float = 125.0
    target_current_A: float = 0.0  # Scheduled DC: negative discharges

    @property
    def target_energy_Wh(self) -> float:
        return max(0.0, (self.target_soc - self.soc) * self.capacity_Wh)

    @property
    def max_energy_Wh(self) -> float:
        return max(0.0, (1.0 - self.soc) * self.capacity_Wh)

    @property
    def min_energy_Wh(self) -> float:
        return max(0.0, (self.min_soc - self.soc) * self.capacity_Wh)

    @property
    def min_v2x_energy_Wh(self) -> float:
        """Negative when the EV lets a discharge take energy out (down to `min_soc`)."""
        return (self.min_soc - self.soc) * self.capacity_Wh


@dataclass(frozen=True, slots=True, kw_only=True)
class EvccConfig:
    evcc_id: str = "BIDICHARGEEV0001"
    namespaces: tuple[str, ...] = ("urn:iso:std:iso:15118:-20:AC", "urn:iso:std:iso:15118:-20:DC")
    services: tuple[ServiceId, ...] = (ServiceId.AC_BPT, ServiceId.DC_BPT, ServiceId.AC, ServiceId.DC)
    control_mode: ControlMode = ControlMode.DYNAMIC
    loop_interval_s: float = 0.1  # between charge-loop requests
    ongoing_interval_s: float = 0.1  # between repeats while the SECC answers Ongoing
    pre_charge_tolerance_V: float = 10.0
    welding_safe_voltage_V: float = 60.0
    maximum_supporting_points: int = 1024
    resume_session_id: bytes | None = None  # a paused session to rejoin
    # Multiplies the standard's message timeouts (1.0 = as ISO 15118-20 sets them); a
    # larger value tolerates slow peers, e.g. a JVM-based stack warming up on a busy host.
    timeout_factor: float = 1.0
    contract: ContractCredentials | None = None  # Plug & Charge when the SECC offers it
    # without a contract: install one first (CertificateInstallation) when the SECC offers it
    provisioning: ProvisioningCredentials | None = None
    meter_info_requested: bool = False  # ask for the EVSE meter in every charge-loop answer
