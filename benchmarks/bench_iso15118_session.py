#!/usr/bin/env python3
"""Benchmark: a complete ISO 15118-20 AC_BPT session, SDP → SessionStopRes, over sockets.

Both stacks run in the same throwaway network namespace (``unshare -n``, a veth pair vA/vB,
link-local IPv6, SDP by multicast to ff02::1), the same run, the same session shape:
AC_BPT, Scheduled control, EIM, 10 charge-loop cycles without pauses, then PowerDelivery(Stop)
and SessionStop(Terminate).

* Ours: our SECC on vA and our EVCC on vB in one process (``transports.iso15118_tcp``),
  timed from the first SDP request to the EVCC's SessionEnded; median of ``--runs``.
* Anchor: Josev (PyPI ``iso15118`` 0.31.2, its simulators, ``evcc_config_ac_bpt.json``) in
  its own virtualenv: its SECC on vA, its EVCC on vB; timed from its log line "Sending
  SDPRequest" to "SessionStopRes received" (the JVM start of its EXI codec is not counted).

Prints ``BENCH iso15118_20_ac_bpt_session: <ms> ms (anchor <ms>, ratio <anchor/ours>)``.
Run as root: ``python benchmarks/bench_iso15118_session.py [--runs 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOSEV_PY = ROOT / ".interop" / "josev-venv" / "bin" / "python"
LOOPS = 10


async def one_session_ours() -> float:
    from bidicharge.protocols.iso15118_20 import (
        ControlMode,
        Evcc,
        EvccConfig,
        EvState,
        Secc,
        SeccConfig,
        ServiceId,
        bpt_offer,
    )
    from bidicharge.protocols.iso15118_20 import events as ev
    from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC
    from bidicharge.protocols.iso15118_20.sim import SimpleEv, SimpleEvse
    from bidicharge.transports.iso15118_tcp import SeccServer, connect_evcc, link_local_address

    secc_done = asyncio.Event()

    def make_session():
        evse = SimpleEvse(
            Secc(SeccConfig(offers=(bpt_offer(ServiceId.AC_BPT, control_modes=(ControlMode.SCHEDULED,)),)))
        )

        def on_events(now: float) -> None:
            evse.on_events()
            if evse.secc.closed:
                secc_done.set()

        return evse.secc, on_events

    config = EvccConfig(
        namespaces=(NS_ISO20_AC,),
        services=(ServiceId.AC_BPT,),
        control_mode=ControlMode.SCHEDULED,
        loop_interval_s=0.0,
    )
    evcc = Evcc(EvState(soc=0.5, capacity_Wh=60_000), config)
    owner = SimpleEv(evcc)
    loops = 0

    def on_ev(now: float) -> None:
        nonlocal loops
        before = len(owner.trace)
        owner.on_events(now)
        loops += sum(isinstance(e, ev.PowerCommanded) for e in owner.trace[before:])
        if loops >= LOOPS - 1:  # with no pause the next request is already out: stop takes effect after it
            evcc.stop()

    async with SeccServer(make_session, host=link_local_address("vA"), interface="vA", sdp_port=15118):
        t0 = time.perf_counter()
        await connect_evcc(evcc, on_events=on_ev, interface="vB")
        elapsed = time.perf_counter() - t0
        await secc_done.wait()
    ended = [e for e in owner.trace if isinstance(e, ev.SessionEnded)]
    assert ended and ended[-1].error is None and loops == LOOPS, ended
    return elapsed


def josev_session(work: Path) -> float:
    pkg = subprocess.run(
        [str(JOSEV_PY), "-c", "import iso15118, os; print(os.path.dirname(iso15118.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (work / "secc").mkdir()
    (work / "evcc").mkdir()
    env = {"PATH": "/usr/bin:/bin", "LOG_LEVEL": "INFO"}
    secc = subprocess.Popen(
        [str(JOSEV_PY), "-m", "iso15118.secc.main"],
        cwd=work / "secc",
        env={
            **env,
            "HOME": str(work / "secc"),
            "NETWORK_INTERFACE": "vA",
            "PROTOCOLS": "ISO_15118_20_AC",
            "AUTH_MODES": "EIM",
        },
        stdout=open(work / "secc.log", "w"),
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(5)  # JVM + SECC start-up, not part of the session
        log = work / "evcc.log"
        evcc = subprocess.Popen(
            [
                str(JOSEV_PY),
                "-m",
                "iso15118.evcc.main",
                f"{pkg}/shared/examples/evcc/iso15118_20/evcc_config_ac_bpt.json",
            ],
            cwd=work / "evcc",
            env={**env, "HOME": str(work / "evcc"), "NETWORK_INTERFACE": "vB"},
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while "SessionStopRes received" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        evcc.kill()
        text = log.read_text()
    finally:
        secc.kill()
    stamps = {}
    for line in text.splitlines():
        for key in ("Sending SDPRequest", "SessionStopRes received"):
            if key in line and key not in stamps:
                m = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", line)
                assert m
                stamps[key] = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
    if len(stamps) != 2:
        raise RuntimeError("Josev's session did not complete:\n" + text[-2000:])
    loops = text.count("AC_ChargeLoopRes received")
    assert loops == LOOPS, loops
    return (stamps["SessionStopRes received"] - stamps["Sending SDPRequest"]).total_seconds()


def inside(runs: int) -> None:
    ours = []
    for _ in range(runs):
        ours.append(asyncio.run(one_session_ours()))
    ours_s = statistics.median(ours)
    with tempfile.TemporaryDirectory() as tmp:
        josev_s = josev_session(Path(tmp))
    print(
        f"ours: {len(ours)} sessions, min {min(ours) * 1000:.1f} ms, median {ours_s * 1000:.1f} ms",
        file=sys.stderr,
    )
    print(
        f"BENCH iso15118_20_ac_bpt_session: {ours_s * 1000:.1f} ms (anchor {josev_s * 1000:.0f}, "
        f"ratio {josev_s / ours_s:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.runs)
        return
    if os.geteuid() != 0 or not shutil.which("unshare") or not JOSEV_PY.exists():
        sys.exit("needs root (a network namespace) and Josev in .interop/josev-venv (tools/interop/josev.sh)")
    setup = (
        "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; ip link set lo up; "
        "ip link add vA type veth peer name vB; ip link set vA up; ip link set vB up; sleep 0.3; "
    )
    cmd = f"{setup} exec {sys.executable} {Path(__file__).resolve()} --inside --runs {args.runs}"
    sys.exit(subprocess.run(["unshare", "-n", "bash", "-c", cmd]).returncode)


if __name__ == "__main__":
    main()
