"""The checked-in generated code is exactly what tools/gen_exi.py makes from the vendored XSDs."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

from bidicharge.protocols.exi.messages import ac, common_messages

ROOT = Path(__file__).resolve().parents[3]


def test_generated_files_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_exi", ROOT / "tools" / "gen_exi.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen_exi"] = gen
    try:
        spec.loader.exec_module(gen)
        out, _model = gen.generate_profile("iso15118_20", True)
    finally:
        del sys.modules["gen_exi"]
    stale = [name for name, text in out.items() if (gen.OUT_DIR / name).read_text() != text]
    assert stale == []


def test_wire_names_are_explicit_per_field() -> None:
    wire = {f.name: f.metadata["xml"] for f in dataclasses.fields(ac.BPT_Dynamic_AC_CLReqControlMode)}
    assert wire["ev_maximum_discharge_power_l2"] == "{urn:iso:std:iso:15118:-20:AC}EVMaximumDischargePower_L2"
    assert wire["ev_present_active_power"] == "{urn:iso:std:iso:15118:-20:AC}EVPresentActivePower"
    fields = {f.name: f.metadata["xml"] for f in dataclasses.fields(common_messages.SessionSetupReq)}
    assert fields["evccid"] == "{urn:iso:std:iso:15118:-20:CommonMessages}EVCCID"


def test_messages_are_frozen_slotted_keyword_only() -> None:
    params = common_messages.SessionStopReq.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert hasattr(common_messages.SessionStopReq, "__slots__")
    assert all(f.kw_only for f in dataclasses.fields(common_messages.SessionStopReq))
