"""Whatever a peer sends, the cores answer with RemoteProtocolError (a Modbus exception),
never with a crash or a hang."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sunspec_devices import BATTERY, PV

from bidicharge.protocols.sunspec import MODELS, RemoteProtocolError, decode_model

REGISTER = st.integers(0, 0xFFFF)


@settings(max_examples=300, deadline=None)
@given(
    offset=st.integers(-5, 700), registers=st.lists(REGISTER, min_size=1, max_size=8), battery=st.booleans()
)
def test_random_writes_are_applied_or_refused(offset: int, registers: list[int], battery: bool) -> None:
    profile = BATTERY if battery else PV
    device = profile.build()
    try:
        device.write(40000 + offset, registers)
    except RemoteProtocolError:
        return
    profile.setpoints(device)  # whatever was accepted still gives valid setpoints
    for model in device.models:
        model.values()


@settings(max_examples=300, deadline=None)
@given(model_id=st.sampled_from(sorted(MODELS)), length=REGISTER, body=st.lists(REGISTER, max_size=300))
def test_random_model_registers_decode_or_are_refused(model_id: int, length: int, body: list[int]) -> None:
    try:
        image = decode_model(model_id, [model_id, length, *body])
    except RemoteProtocolError:
        return
    assert image is not None
    image.values()
