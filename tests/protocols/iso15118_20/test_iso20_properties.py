"""Properties: whatever the owner commands, the SECC stays within both sides' limits; the EVCC
survives any bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from iso20_helpers import Pair

from bidicharge.protocols.iso15118_20 import ControlMode, Evcc, EvccConfig, EvState
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC, NS_ISO20_DC
from bidicharge.protocols.iso15118_20.v2gtp import PayloadType, encode_frame

targets = st.lists(
    st.one_of(st.none(), st.floats(min_value=-50_000, max_value=50_000)), min_size=1, max_size=3
)


@settings(max_examples=12, deadline=None)
@given(
    commands=targets,
    ev_max_charge=st.floats(min_value=1_000, max_value=22_000),
    ev_max_discharge=st.floats(min_value=0, max_value=22_000),
    dc=st.booleans(),
)
def test_commanded_power_never_exceeds_either_sides_limits(commands, ev_max_charge, ev_max_discharge, dc):
    config = EvccConfig(
        namespaces=(NS_ISO20_DC if dc else NS_ISO20_AC,),
        control_mode=ControlMode.DYNAMIC,
        loop_interval_s=1.0,
    )
    state = EvState(
        soc=0.5, capacity_Wh=60_000, max_charge_power_W=ev_max_charge, max_discharge_power_W=ev_max_discharge
    )
    pair = Pair(state, config)
    script = {i + 1: (lambda p, t=t: p.secc.set_power_target(t)) for i, t in enumerate(commands)}
    script[len(commands) + 1] = lambda p: p.evcc.stop()
    pair.run(script)
    evse_max = 50_000.0 if dc else 11_000.0
    commanded = [c for c in pair.ev.trace if isinstance(c, ev.PowerCommanded)]
    assert len(commanded) == len(commands) + 1
    charge, discharge = (
        min(ev_max_charge, evse_max) + 1,
        min(ev_max_discharge, evse_max) + 1,
    )  # +1 W: rounding
    for c in commanded:
        if c.target_power_W is not None:
            assert -discharge <= c.target_power_W <= charge
        assert (c.max_charge_power_W or 0) <= charge and (c.max_discharge_power_W or 0) <= discharge
    assert [e for e in pair.evse.trace if isinstance(e, ev.SessionEnded)] == [ev.SessionEnded()]


@settings(max_examples=150, deadline=None)
@given(chunks=st.lists(st.binary(max_size=80), min_size=1, max_size=4), typed=st.booleans())
def test_evcc_survives_any_answer(chunks, typed):
    evcc = Evcc(EvState(soc=0.5, capacity_Wh=60_000))
    evcc.start(0.0)
    evcc.data_to_send()
    for chunk in chunks:
        evcc.receive_data(encode_frame(PayloadType.SAP, chunk) if typed else chunk, 0.1)
    events = list(evcc.events())
    # either still waiting (incomplete frame) or ended with a reason, never an exception
    assert evcc.closed == any(isinstance(e, ev.SessionEnded) and e.error for e in events)
