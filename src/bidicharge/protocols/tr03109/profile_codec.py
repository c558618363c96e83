"""JSON form of a `GatewayProfile` (the content a GWA signs, see `profile_update`)."""

from __future__ import annotations

import base64
import json
from typing import Any

from .errors import RemoteProtocolError
from .profile import ClsPermission, EmtEndpoint, EvaluationProfile, GatewayProfile, TariffSwitch
from .taf import Taf

FORMAT = "bidicharge-smgw-profile/1"


def encode_profile(profile: GatewayProfile) -> bytes:
    body = {
        "format": FORMAT,
        "gateway_id": profile.gateway_id,
        "version": profile.version,
        "meters": list(profile.meters),
        "emts": [
            {"emt_id": e.emt_id, "host": e.host, "port": e.port, "path": e.path,
             "encryption_certificate": base64.b64encode(e.encryption_certificate_der).decode(),
             "tls_certificate_sha256": e.tls_certificate_sha256}
            for e in profile.emts
        ],
        "evaluations": [
            {"profile_id": ev.profile_id, "taf": int(ev.taf), "meter_id": ev.meter_id, "emt_id": ev.emt_id,
             "interval_s": ev.interval_s, "send_interval_s": ev.send_interval_s,
             "max_reading_age_s": ev.max_reading_age_s,
             "tariff_table": [{"start_minute": s.start_minute, "stage": s.stage} for s in ev.tariff_table]}
            for ev in profile.evaluations
        ],
        "cls": [
            {"channel_id": c.channel_id, "aemp_id": c.aemp_id, "aemp_certificate_sha256": c.aemp_certificate_sha256,
             "target_host": c.target_host, "target_port": c.target_port}
            for c in profile.cls
        ],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _field(obj: Any, key: str, kind: type) -> Any:
    if not isinstance(obj, dict):
        raise RemoteProtocolError("profile entry is not an object", reason="bad-profile")
    value = obj.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RemoteProtocolError(f"profile field {key!r} missing or not {kind.__name__}", reason="bad-profile")
    return value


def decode_profile(data: bytes) -> GatewayProfile:
    try:
        obj = json.loads(data)
        if _field(obj, "format", str) != FORMAT:
            raise RemoteProtocolError(f"not a {FORMAT} document", reason="bad-profile")
        return GatewayProfile(
            gateway_id=_field(obj, "gateway_id", str),
            version=_field(obj, "version", int),
            meters=tuple(str(m) for m in _field(obj, "meters", list)),
            emts=tuple(
                EmtEndpoint(emt_id=_field(e, "emt_id", str), host=_field(e, "host", str), port=_field(e, "port", int),
                            path=_field(e, "path", str),
                            encryption_certificate_der=base64.b64decode(_field(e, "encryption_certificate", str),
                                                                        validate=True),
                            tls_certificate_sha256=_field(e, "tls_certificate_sha256", str))
                for e in _field(obj, "emts", list)
            ),
            evaluations=tuple(
                EvaluationProfile(
                    profile_id=_field(ev, "profile_id", str), taf=Taf(_field(ev, "taf", int)),
                    meter_id=_field(ev, "meter_id", str), emt_id=_field(ev, "emt_id", str),
                    interval_s=_field(ev, "interval_s", int), send_interval_s=_field(ev, "send_interval_s", int),
                    max_reading_age_s=_field(ev, "max_reading_age_s", int),
                    tariff_table=tuple(TariffSwitch(start_minute=_field(s, "start_minute", int),
                                                    stage=_field(s, "stage", str))
                                       for s in _field(ev, "tariff_table", list)))
                for ev in _field(obj, "evaluations", list)
            ),
            cls=tuple(
                ClsPermission(channel_id=_field(c, "channel_id", str), aemp_id=_field(c, "aemp_id", str),
                              aemp_certificate_sha256=_field(c, "aemp_certificate_sha256", str),
                              target_host=_field(c, "target_host", str), target_port=_field(c, "target_port", int))
                for c in _field(obj, "cls", list)
            ),
        )
    except RemoteProtocolError:
        raise
    except (ValueError, UnicodeDecodeError):
        raise RemoteProtocolError("profile is not valid JSON of the expected shape", reason="bad-profile") from None
