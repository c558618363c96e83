"""ISO 15118-20 interop with Josev (PyPI `iso15118` 0.31.2, Apache-2.0) in both directions.

      netns (unshare -n, created by each test)
   ┌───────────────────────────────────────────────┐
   │  vA (fe80::…) ◄── veth ──► vB (fe80::…)        │
   │  SECC: ours | Josev         EVCC: Josev | ours │
   └───────────────────────────────────────────────┘

SDP over UDP multicast ff02::1 on the veth link, V2GTP over TCP to the SECC's link-local
address, EXI by our codec on one side and Josev's EXIficient jar on the other. Josev runs in
its own virtualenv (`tools/interop/josev.sh`); each test asserts on the trace of our side's
owner and on Josev's log. The namespace (and its veth pair) disappears with the process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOSEV_PY = ROOT / ".interop" / "josev-venv" / "bin" / "python"
HERE = Path(__file__).resolve().parent

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not JOSEV_PY.exists(), reason="Josev not installed (tools/interop/josev.sh)"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Josev's EXI codec needs a JRE"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root for a netns"),
]

_NETNS = """
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip link set lo up && ip link add vA type veth peer name vB && ip link set vA up && ip link set vB up
sleep 0.3
"""


def _josev_env(work: Path, iface: str) -> str:
    # Josev reads a .env from its CWD and the environment: keep both clean
    return f"cd {work} && env -i PATH=/usr/bin:/bin HOME={work} NETWORK_INTERFACE={iface} LOG_LEVEL=INFO"


def _run(script: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "-n", "bash", "-c", _NETNS + script], capture_output=True, text=True, timeout=timeout_s
    )


def _trace(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def _josev_evcc_vs_our_secc(
    tmp_path: Path, service: str, mode: str, config: str, *extra: str, env: str = ""
) -> tuple[list, str]:
    josev = tmp_path / "josev"
    josev.mkdir()
    out = tmp_path / "secc.json"
    pkg = subprocess.run(
        [str(JOSEV_PY), "-c", "import iso15118, os; print(os.path.dirname(iso15118.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cfg = config if config.startswith("/") else f"{pkg}/shared/examples/evcc/iso15118_20/{config}"
    ours = f"{sys.executable} {HERE / 'iso20_ours.py'} secc --iface vA --service {service} --mode {mode} --out {out} --timeout 60 {' '.join(extra)}"
    script = f"""
{ours} > {tmp_path}/ours.log 2>&1 &
OURS=$!; sleep 0.5
({_josev_env(josev, "vB")} {env} timeout 70 {JOSEV_PY} -m iso15118.evcc.main {cfg} > {josev}/evcc.log 2>&1) &
JOSEV=$!
wait $OURS; RC=$?
kill $JOSEV 2>/dev/null; wait $JOSEV 2>/dev/null
exit $RC
"""
    result = _run(script, 100)
    log = (josev / "evcc.log").read_text() if (josev / "evcc.log").exists() else ""
    assert result.returncode == 0, (
        result.stdout,
        result.stderr,
        (tmp_path / "ours.log").read_text(),
        log[-3000:],
    )
    return _trace(out), log


def _our_evcc_vs_josev_secc(
    tmp_path: Path,
    service: str,
    mode: str,
    *extra: str,
    stop_at: int,
    soc: float = 0.5,
    env: str = "",
    auth: str = "EIM",
) -> tuple[list, str]:
    josev = tmp_path / "josev"
    josev.mkdir()
    out = tmp_path / "evcc.json"
    ours = (
        f"{sys.executable} {HERE / 'iso20_ours.py'} evcc --iface vB --service {service} --mode {mode} "
        f"--out {out} --timeout 60 --stop-at {stop_at} --timeout-factor 4 --soc {soc} {' '.join(extra)}"
    )
    script = f"""
({_josev_env(josev, "vA")} PROTOCOLS=ISO_15118_20_AC,ISO_15118_20_DC AUTH_MODES={auth} JOSEV_CHARGE_LOOPS=3 {env} \
   timeout 70 {JOSEV_PY} {HERE / "josev_iso20_secc.py"} > {josev}/secc.log 2>&1) &
JOSEV=$!
{ours} > {tmp_path}/ours.log 2>&1; RC=$?
kill $JOSEV 2>/dev/null; wait $JOSEV 2>/dev/null
exit $RC
"""
    result = _run(script, 100)
    log = (josev / "secc.log").read_text() if (josev / "secc.log").exists() else ""
    assert result.returncode == 0, (
        result.stdout,
        result.stderr,
        (tmp_path / "ours.log").read_text(),
        log[-3000:],
    )
    return _trace(out), log


def _rational(text: str) -> float:
    number = json.loads(text)
    return number["Value"] * 10.0 ** number["Exponent"]


def _of(trace: list[dict], event: str) -> list[dict]:
    return [e for e in trace if e["event"] == event]


def test_josev_evcc_ac_bpt_dynamic(tmp_path):
    """Josev's EVCC against our SECC: AC_BPT, Dynamic; we command +11 kW, then -7 kW."""
    trace, log = _josev_evcc_vs_our_secc(
        tmp_path, "AC_BPT", "dynamic", "evcc_config_ac_bpt.json", "--discharge-at", "3"
    )
    assert _of(trace, "ServiceSelected")[0]["service"] == 5
    assert _of(trace, "ServiceSelected")[0]["parameter_set"]["control_mode"] == 2
    targets = [v for v in _targets_in(log)]
    assert (
        targets and targets[0] > 0 and targets[-1] == -7000
    )  # both directions on the wire, as Josev decoded them
    assert _of(trace, "SessionEnded") == [
        {"event": "SessionEnded", "paused": False, "error": None, "response_code": None}
    ]
    assert "SessionStopRes received" in log


def _targets_in(log: str) -> list[int]:
    values = []
    for line in log.splitlines():
        if '"AC_ChargeLoopRes"' in line and "EVSETargetActivePower" in line:
            res = json.loads(line[line.index('{"AC_ChargeLoopRes"') :])["AC_ChargeLoopRes"]
            power = res["BPT_Dynamic_AC_CLResControlMode"]["EVSETargetActivePower"]
            values.append(power["Value"] * 10 ** power["Exponent"])
    return values


def test_josev_evcc_dc_bpt_scheduled(tmp_path):
    """Josev's EVCC against our SECC: DC_BPT, Scheduled, with a charge-then-discharge schedule
    (Josev's EV simulator pre-charges to 20 kV, hence the widened EVSE range)."""
    trace, log = _josev_evcc_vs_our_secc(
        tmp_path,
        "DC_BPT",
        "scheduled",
        "evcc_config_dc_bpt.json",
        "--discharge-at",
        "0",
        "--dc-max-voltage",
        "30000",
    )
    selected = _of(trace, "ServiceSelected")[0]
    assert (selected["service"], selected["parameter_set"]["control_mode"]) == (6, 1)
    kinds = [e["event"] for e in trace]
    assert (
        kinds.index("CableCheckRequested")
        < kinds.index("PreChargeRequested")
        < kinds.index("PowerDeliveryRequested")
    )
    assert "WeldingDetectionRequested" in kinds
    progress = [p["progress"] for p in _of(trace, "PowerDeliveryRequested")]
    assert progress[0] == "Start" and progress[-1] == "Stop"  # Josev repeats Start once
    assert len(_of(trace, "EvStatus")) >= 3
    assert '"DischargingSchedule"' in log  # our schedule offered discharge, decoded by Josev
    assert _of(trace, "SessionEnded")[-1]["error"] is None


def test_our_evcc_josev_secc_ac_bpt_dynamic(tmp_path):
    """Our EVCC against Josev's SECC: AC_BPT, Dynamic; Josev commands +11 kW, then -7 kW."""
    trace, log = _our_evcc_vs_josev_secc(tmp_path, "AC_BPT", "dynamic", stop_at=6)
    assert _of(trace, "ServiceNegotiated")[0]["service"] == 5
    commanded = [c["target_power_W"] for c in _of(trace, "PowerCommanded")]
    assert commanded == [11_000.0] * 3 + [-7_000.0] * 3
    assert _of(trace, "SessionEnded")[-1] == {
        "event": "SessionEnded",
        "paused": False,
        "error": None,
        "response_code": None,
    }
    assert "SessionStopReq received" in log


def test_our_evcc_josev_secc_dc_bpt_scheduled(tmp_path):
    """Our EVCC against Josev's SECC: DC_BPT, Scheduled. Our EV is above its target SoC, so it
    discharges within Josev's discharging schedule: channel Discharge, negative target current."""
    trace, log = _our_evcc_vs_josev_secc(tmp_path, "DC_BPT", "scheduled", stop_at=4, soc=0.9)
    negotiated = _of(trace, "ServiceNegotiated")[0]
    assert (negotiated["service"], negotiated["parameter_set"]["control_mode"]) == (6, 1)
    (schedule,) = _of(trace, "ScheduleReceived")
    assert schedule["entries"] and schedule["entries"][0]["max_discharge_power_W"] > 0
    assert '"BPT_ChannelSelection":"Discharge"' in log
    targets = [_rational(m) for m in re.findall(r'"EVTargetCurrent":(\{[^}]*\})', log)]
    assert targets and min(targets) < 0  # Josev decoded our discharge current
    assert len(_of(trace, "PowerCommanded")) == 4
    assert _of(trace, "SessionEnded")[-1]["error"] is None
    for request in ("DC_CableCheckReq", "DC_PreChargeReq", "DC_WeldingDetectionReq", "SessionStopReq"):
        assert f"{request} received" in log


@pytest.fixture(scope="module")
def josev_pki(tmp_path_factory) -> tuple[Path, Path]:
    """Josev's own test PKI (its create_certs.sh, openssl): certs and private keys (-2 paths)."""
    pki = tmp_path_factory.mktemp("josev") / "pki"
    pki.mkdir()
    script = (
        Path(
            subprocess.run(
                [str(JOSEV_PY), "-c", "import iso15118, os; print(os.path.dirname(iso15118.__file__))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        / "shared"
        / "pki"
    )
    shutil.copytree(script / "configs", pki / "configs")
    for version in ("iso-20", "iso-2"):  # Josev's SECC wants both, then reads the -2 paths
        subprocess.run(
            ["bash", str(script / "create_certs.sh"), "-v", version],
            cwd=pki,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return pki / "iso15118_2" / "certs", pki / "iso15118_2" / "private_keys"


def test_our_evcc_josev_secc_ac_bpt_tls13_pnc(tmp_path, josev_pki):
    """Our EVCC against Josev's SECC over TLS 1.3 (Josev requires the vehicle certificate) with
    Plug & Charge: Josev's PKI, our EVCC signing with the -2 algorithms Josev verifies."""
    certs, keys = josev_pki
    trace, log = _our_evcc_vs_josev_secc(
        tmp_path,
        "AC_BPT",
        "dynamic",
        "--tls-roots",
        str(certs / "v2gRootCACert.pem"),
        "--tls-chain",
        str(certs / "oemCertChain.pem"),
        "--tls-key",
        str(keys / "oemLeaf.key"),
        "--tls-key-password-file",
        str(keys / "oemLeafPassword.txt"),
        "--contract",
        str(certs / "contractLeafCert.der"),
        str(certs / "moSubCA2Cert.der"),
        str(certs / "moSubCA1Cert.der"),
        "--contract-key",
        str(keys / "contractLeaf.key"),
        "--contract-key-password-file",
        str(keys / "contractLeafPassword.txt"),
        "--pnc-sha256",
        stop_at=6,
        env=f"PKI_PATH={certs.parent.parent}/ ENABLE_TLS_1_3=true SECC_ENFORCE_TLS=true",
        auth="EIM,PNC",
    )
    commanded = [c["target_power_W"] for c in _of(trace, "PowerCommanded")]
    assert commanded == [11_000.0] * 3 + [-7_000.0] * 3
    assert _of(trace, "SessionEnded")[-1]["error"] is None
    assert "TLS server started" in log and "Security: TLS" in log
    assert (
        '"PnC_AReqAuthorizationMode"' in log and "Unable to verify signature" not in log
    )  # Josev checked it
    assert '"AuthorizationRes": {"Header"' in log and '"EVSEProcessing": "Finished"' in log


def test_josev_evcc_ac_bpt_tls13_pnc(tmp_path, josev_pki):
    """Josev's EVCC against our SECC over TLS 1.3 with Plug & Charge: Josev's own test PKI
    (its create_certs.sh; prime256v1, the -2 paths it reads for -20 too), our SECC with its CPO
    chain, contracts under its MO root; Josev signs with the -2 algorithms (ECDSA-SHA-256),
    which our SECC accepts only when told to."""
    certs, keys = josev_pki
    pki = certs.parent.parent
    config = tmp_path / "evcc_tls_pnc.json"
    config.write_text(
        json.dumps(
            {
                "supportedProtocols": ["ISO_15118_20_AC"],
                "supportedEnergyServices": ["AC_BPT"],
                "isCertInstallNeeded": False,
                "useTls": True,
                "enforceTls": True,
                "chargeLoopCycle": 5,
            }
        )
    )
    trace, log = _josev_evcc_vs_our_secc(
        tmp_path,
        "AC_BPT",
        "dynamic",
        str(config),
        "--discharge-at",
        "3",
        "--tls-chain",
        str(certs / "cpoCertChain.pem"),
        "--tls-key",
        str(keys / "seccLeaf.key"),
        "--tls-key-password-file",
        str(keys / "seccLeafPassword.txt"),
        "--pnc-root-der",
        str(certs / "moRootCACert.der"),
        "--pnc-allow-sha256",
        env=f"PKI_PATH={pki}/ ENABLE_TLS_1_3=true",
    )
    (auth,) = _of(trace, "AuthorizationRequested")
    assert auth["method"] == "PnC" and auth["emaid"]
    targets = _targets_in(log)
    assert targets and targets[0] > 0 and targets[-1] == -7000
    assert _of(trace, "SessionEnded")[-1]["error"] is None
    assert "SessionStopRes received" in log
