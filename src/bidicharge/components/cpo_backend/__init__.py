"""CPO backend (C-CPO-BACKEND): a CSMS over OCPP 2.0.1/2.1 (I-04; I-05 in the EVSE-backend role)
that keeps stations, EVSEs, transactions and meter values in SQL, authorises tokens, and turns
the technical aggregator's setpoints (I-14) into SetChargingProfile with the 2.1 V2X fields.

``CsmsEngine`` is a plain class with an injected ``now()``; :mod:`.component` wraps it as the
scenario kinds ``cpo_backend`` and ``evse_backend``.
"""

from .component import CpoBackend, CpoBackendConfig, EvseBackend
from .engine import CsmsEngine, LiveEv, MeterReading, SchedulePeriod
from .store import CsmsStore

__all__ = ["CpoBackend", "CpoBackendConfig", "CsmsEngine", "EvseBackend", "CsmsStore", "LiveEv", "MeterReading", "SchedulePeriod"]
