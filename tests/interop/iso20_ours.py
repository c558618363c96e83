"""Our SECC or EVCC as a process, for interop runs against Josev inside a network namespace.

    python tests/interop/iso20_ours.py secc --iface vA --service AC_BPT --mode dynamic --discharge-at 3 --out t.json
    python tests/interop/iso20_ours.py evcc --iface vB --service DC_BPT --mode scheduled --stop-at 6 --out t.json

Runs one session (SDP on the interface, TCP to/from its link-local address), then writes the
owner's event trace as JSON and exits 0 if the session ended without error.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bidicharge.protocols.iso15118_20 import (
    ControlMode,
    DcEvseLimits,
    Evcc,
    EvccConfig,
    EvState,
    Secc,
    SeccConfig,
    ServiceId,
    bpt_offer,
)
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.pnc import ContractCredentials
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC, NS_ISO20_DC
from bidicharge.protocols.iso15118_20.sim import SimpleEv, SimpleEvse
from bidicharge.transports.iso15118_tcp import (
    SeccServer,
    connect_evcc,
    evcc_tls_context,
    link_local_address,
    secc_tls_context,
)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def dump(trace: list[Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump([{"event": type(e).__name__, **_plain(e)} for e in trace], out, indent=1)


def _modes(mode: str) -> tuple[ControlMode, ...]:
    first = ControlMode.DYNAMIC if mode == "dynamic" else ControlMode.SCHEDULED
    return (first, ControlMode.SCHEDULED if first is ControlMode.DYNAMIC else ControlMode.DYNAMIC)


async def run_secc(args: argparse.Namespace) -> int:
    service = ServiceId[args.service]
    # Josev's EV simulator pre-charges to 20 kV (Exponent 3, Value 20): widen the simulated
    # EVSE's voltage range for such a peer with --dc-max-voltage
    pnc = {}
    if args.pnc_root_der:  # Plug & Charge: contracts must lead to this root
        pnc = dict(
            pnc_trust_anchors=(args.pnc_root,),
            new_challenge=lambda: os.urandom(16),
            pnc_allow_sha256=args.pnc_allow_sha256,
        )
    config = SeccConfig(
        offers=(bpt_offer(service, control_modes=_modes(args.mode)),),
        dc=DcEvseLimits(max_voltage_V=args.dc_max_voltage),
        **pnc,
    )
    done = asyncio.Event()
    evse = SimpleEvse(Secc(config))
    loops = 0

    def make_session() -> tuple[Secc, Any]:
        def on_events(now: float) -> None:
            nonlocal loops
            before = len(evse.trace)
            evse.on_events()
            for e in evse.trace[before:]:
                if isinstance(e, ev.EvStatus):
                    loops += 1
                    if loops == args.discharge_at:
                        evse.secc.set_power_target(-7_000.0)
                if isinstance(e, ev.PowerDeliveryRequested) and e.progress.value == "Stop":
                    pass
            if evse.secc.closed:
                done.set()

        return evse.secc, on_events

    if args.mode == "scheduled" and args.discharge_at == 0:
        evse.secc.set_schedule([(1800, 11_000.0), (1800, -7_000.0)])
    address = link_local_address(args.iface)
    tls = None
    if args.tls_chain:
        tls = secc_tls_context(cert_chain=args.tls_chain, key=args.tls_key, password=args.tls_password)
    async with SeccServer(
        make_session, host=address, interface=args.iface, port=0, sdp_port=15118, ssl_context=tls
    ):
        print("SECC ready", address, flush=True)
        async with asyncio.timeout(args.timeout):
            await done.wait()
    dump(evse.trace, args.out)
    ended = [e for e in evse.trace if isinstance(e, ev.SessionEnded)]
    return 0 if ended and ended[-1].error is None else 1


async def run_evcc(args: argparse.Namespace) -> int:
    service = ServiceId[args.service]
    ns = NS_ISO20_AC if service in (ServiceId.AC, ServiceId.AC_BPT) else NS_ISO20_DC
    mode = ControlMode.DYNAMIC if args.mode == "dynamic" else ControlMode.SCHEDULED
    # Josev's JVM codec answers the first messages slowly on a busy 2-core host
    config = EvccConfig(
        namespaces=(ns,),
        services=(service,),
        control_mode=mode,
        loop_interval_s=0.05,
        timeout_factor=args.timeout_factor,
        contract=args.contract,
    )
    state = EvState(soc=args.soc, capacity_Wh=60_000, max_charge_power_W=11_000, max_discharge_power_W=11_000)
    evcc = Evcc(state, config)
    owner = SimpleEv(evcc)
    loops = 0

    def on_events(now: float) -> None:
        nonlocal loops
        before = len(owner.trace)
        owner.on_events(now)
        for e in owner.trace[before:]:
            if isinstance(e, ev.PowerCommanded):
                loops += 1
                if loops == args.stop_at:
                    evcc.stop()

    async with asyncio.timeout(args.timeout):
        tls = None
        if args.tls_roots:
            tls = evcc_tls_context(
                v2g_roots=args.tls_roots,
                cert_chain=args.tls_chain,
                key=args.tls_key,
                password=args.tls_password,
            )
        await connect_evcc(evcc, on_events=on_events, interface=args.iface, sdp_attempts=200, ssl_context=tls)
    dump(owner.trace, args.out)
    ended = [e for e in owner.trace if isinstance(e, ev.SessionEnded)]
    return 0 if ended and ended[-1].error is None else 1


def _contract(args: argparse.Namespace) -> ContractCredentials:
    password = (
        Path(args.contract_key_password_file).read_bytes().strip()
        if args.contract_key_password_file
        else None
    )
    key = serialization.load_pem_private_key(Path(args.contract_key).read_bytes(), password)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return ContractCredentials(
        certificate=Path(args.contract[0]).read_bytes(),
        sub_certificates=tuple(Path(p).read_bytes() for p in args.contract[1:]),
        private_key=key,
        sha256=args.pnc_sha256,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=("secc", "evcc"))
    parser.add_argument("--iface", required=True)
    parser.add_argument("--service", default="AC_BPT", choices=[s.name for s in ServiceId])
    parser.add_argument("--mode", default="dynamic", choices=("dynamic", "scheduled"))
    parser.add_argument("--discharge-at", type=int, default=3)
    parser.add_argument("--stop-at", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout-factor", type=float, default=1.0)
    parser.add_argument("--dc-max-voltage", type=float, default=500.0)
    parser.add_argument("--tls-chain", help="PEM chain (leaf first) for TLS 1.3: SECC leaf, or the vehicle's")
    parser.add_argument("--tls-roots", help="EVCC: V2G root(s) to trust (PEM); enables TLS")
    parser.add_argument("--contract", nargs="+", help="EVCC: contract cert DER, then its sub-CA DERs (PnC)")
    parser.add_argument("--contract-key", help="EVCC: the contract's PEM key")
    parser.add_argument("--contract-key-password-file")
    parser.add_argument("--pnc-sha256", action="store_true", help="EVCC: sign with ISO 15118-2 algorithms")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-key-password-file")
    parser.add_argument("--pnc-root-der", help="SECC: offer Plug & Charge for contracts under this root")
    parser.add_argument(
        "--pnc-allow-sha256", action="store_true", help="accept ISO 15118-2 signature algorithms"
    )
    parser.add_argument("--soc", type=float, default=0.5, help="EVCC: above its 0.8 target the EV discharges")
    args = parser.parse_args()
    # files are read here, before the event loop runs
    args.pnc_root = Path(args.pnc_root_der).read_bytes() if args.pnc_root_der else None
    args.tls_password = (
        Path(args.tls_key_password_file).read_text().strip() if args.tls_key_password_file else None
    )
    args.contract = _contract(args) if args.contract else None
    return asyncio.run(run_secc(args) if args.role == "secc" else run_evcc(args))


if __name__ == "__main__":
    sys.exit(main())
