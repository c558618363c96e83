"""ISO 15118-20 timers, in seconds (values as transcribed by Josev
``shared/messages/iso15118_20/timeouts.py``, not re-checked against the standard's text).

Message timeouts bound the EVCC's wait for one response; the SECC sequence timeout bounds
the SECC's wait for the next request; the ongoing timers bound loops of
``EVSEProcessing=Ongoing``.
"""

from __future__ import annotations

from typing import Final

SAP_s: Final = 2.0
MESSAGE_s: Final = 2.0  # SessionSetup … SessionStop, DC_CableCheck/PreCharge/WeldingDetection
SERVICE_DETAIL_s: Final = 5.0
CERTIFICATE_INSTALLATION_s: Final = 5.0
CHARGE_LOOP_s: Final = 0.5  # AC_ChargeLoop, DC_ChargeLoop

EVCC_COMMUNICATION_SETUP_s: Final = 20.0  # V2G_EVCC_CommunicationSetup_Timeout (TCP up → SessionSetupRes)
SECC_SEQUENCE_s: Final = 60.0  # V2G_SECC_Sequence_Timeout
EVCC_ONGOING_s: Final = 60.0  # V2G_EVCC_Ongoing_Timeout
EVCC_CABLE_CHECK_s: Final = 40.0  # V2G_EVCC_CableCheck_Timeout
EVCC_PRE_CHARGE_s: Final = 10.0  # V2G_EVCC_PreCharge_Timeout
