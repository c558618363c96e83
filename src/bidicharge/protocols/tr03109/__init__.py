"""BSI TR-03109-1 smart meter gateway, sans-I/O: tariff use cases (TAF 1, 2, 7, 9, 10,
14) from meter readings, GWA-signed profiles, CMS-signed and -enveloped meter data for
each EMT (with the EMT's decode-verify), CLS channel access decisions and the HAN read API.

Start with `SmgwCore` (the gateway), `sign_profile` (the GWA), `EmtInbox` (an EMT),
`cls.decide` (the CLS proxy), `han.handle` (the household's read API) and `WakeUpGuard`
(the GWA's signed wake-up); `DemoSmPki`
makes the certificates for a simulated world.
"""

from bidicharge.architecture.registry import ProtocolSpec

from . import cls, han
from .capture import StampedReading
from .cms_enveloped import Recipient, decrypt, envelope
from .cms_signed import Signer, VerifiedContent, sign, verify
from .demo_pki import CURVES, DemoSmPki, Identity
from .document_codec import decode_document, encode_document
from .emt import EmtInbox, Received, deliver_in_memory, open_meter_data
from .engine import SmgwCore
from .errors import LocalProtocolError, RemoteProtocolError, Tr03109Error
from .events import MessageQueued, MeterSilent, ProfileApplied, ProfileRefused, ReadingRefused, SmgwEvent
from .outbox import OutgoingMessage
from .profile import (
    MONTH,
    ClsPermission,
    EmtEndpoint,
    EvaluationProfile,
    GatewayProfile,
    TariffSwitch,
    check_profile,
)
from .profile_codec import decode_profile, encode_profile
from .profile_update import ProfileGuard, sign_profile
from .taf import OBIS_EXPORT, OBIS_IMPORT, OBIS_POWER, MeterDataDocument, MeterValue, Taf, ValueStatus
from .trust import ChainCache, verify_chain
from .wakeup import WakeUp, WakeUpGuard, sign_wakeup

PROTOCOL = ProtocolSpec(
    name="BSI TR-03109 (SMGW)",
    package=__name__,
    interfaces=("I-10", "I-16", "I-17", "I-47"),
    standard="BSI TR-03109-1 (TAF 1/2/7/9/10/14, CMS per Anlage I with RFC 5652/5753, HKS1 and HKS4)",
)

__all__ = [
    "CURVES",
    "MONTH",
    "OBIS_EXPORT",
    "OBIS_IMPORT",
    "OBIS_POWER",
    "PROTOCOL",
    "ClsPermission",
    "DemoSmPki",
    "EmtEndpoint",
    "EmtInbox",
    "EvaluationProfile",
    "GatewayProfile",
    "Identity",
    "LocalProtocolError",
    "MessageQueued",
    "MeterDataDocument",
    "MeterSilent",
    "MeterValue",
    "OutgoingMessage",
    "ProfileApplied",
    "ProfileGuard",
    "ProfileRefused",
    "ReadingRefused",
    "Received",
    "Recipient",
    "RemoteProtocolError",
    "Signer",
    "SmgwCore",
    "SmgwEvent",
    "StampedReading",
    "Taf",
    "TariffSwitch",
    "Tr03109Error",
    "ValueStatus",
    "VerifiedContent",
    "WakeUp",
    "WakeUpGuard",
    "check_profile",
    "cls",
    "decode_document",
    "decode_profile",
    "decrypt",
    "deliver_in_memory",
    "encode_document",
    "encode_profile",
    "envelope",
    "han",
    "open_meter_data",
    "sign",
    "sign_profile",
    "sign_wakeup",
    "verify",
    "verify_chain",
    "ChainCache",
]
