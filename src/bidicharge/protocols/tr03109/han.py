"""HAN read API for the household (I-47; BSI TR-03109-1 HAN scenario HKS1: the consumer
reads their own data). Read-only by construction: GET and HEAD answer, every other method
is 405 with `Allow: GET, HEAD`.

    GET /v1/meters                 -> {"gateway_id":..., "meters": ["0a01454d48..."]}
    GET /v1/meters/{meter}/current -> {"meter_id":..., "captured_at": 1.7e9,
                                       "import_energy_Wh": "123.4", "export_energy_Wh": "5.6",
                                       "active_power_W": -3210}

Values are JSON strings for registers (exact decimals) and an integer for power
(positive = import from the grid, as OBIS 16.7.0). Sans-I/O: `handle(method, path, ...)`
returns the status, headers and body for the HTTP adapter to send.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from .capture import StampedReading


@dataclass(frozen=True, slots=True, kw_only=True)
class HanResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _json(status: int, obj: object, *extra: tuple[str, str]) -> HanResponse:
    body = json.dumps(obj, sort_keys=True).encode()
    return HanResponse(status=status, headers=(("Content-Type", "application/json"), *extra), body=body)


def handle(method: str, path: str, *, gateway_id: str, latest: Mapping[str, StampedReading]) -> HanResponse:
    if method not in ("GET", "HEAD"):
        return _json(405, {"error": "the HAN interface is read-only"}, ("Allow", "GET, HEAD"))
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts == ["v1", "meters"]:
        return _json(200, {"gateway_id": gateway_id, "meters": sorted(latest)})
    if len(parts) == 4 and parts[:2] == ["v1", "meters"] and parts[3] == "current":
        stamped = latest.get(parts[2])
        if stamped is None:
            return _json(404, {"error": f"no current values for meter {parts[2]}"})
        r = stamped.reading
        return _json(200, {"meter_id": parts[2], "captured_at": stamped.at,
                           "import_energy_Wh": str(r.import_energy_Wh), "export_energy_Wh": str(r.export_energy_Wh),
                           "active_power_W": r.active_power_W})
    return _json(404, {"error": f"no resource {path}"})
