"""Scenario files: load, validate everything before start, report every problem at once.

A scenario (YAML) names the time span, the step, the clock, the component instances with
their configs, and how they are wired:

```yaml
name: home_v2h
start: 2018-06-04T00:00:00+02:00
duration: 7d
step: 1min
components:
  wallbox: {component: evse, config: {max_power_W: 11000}, connect: {vehicle: ev.charger}}
```

Each problem becomes one `ScenarioProblem` naming the file, the component and the field;
`load_scenario` raises one `ScenarioError` holding all of them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bidicharge.architecture import INTERFACES
from bidicharge.runtime.component import COMPONENT_TYPES, ComponentConfig, load_component_types
from bidicharge.runtime.ports import Direction, Port
from bidicharge.runtime.trace import TraceLevel

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h|d|w)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration_s(value: object) -> float:
    """'15min', '1h', '7d', 60 (seconds) -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNIT_S[m.group(2)]
    raise ValueError(f"not a duration: {value!r} (use e.g. 60, '15min', '1h', '7d')")


def parse_time_s(value: object) -> float:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    else:
        raise ValueError(f"not an ISO 8601 time: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    file: str
    component: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.component:
            where += f": component {self.component!r}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class ScenarioError(Exception):
    def __init__(self, problems: list[ScenarioProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __str__(self) -> str:
        n = len(self.problems)
        return f"scenario refused ({n} problem{'s' if n != 1 else ''}):\n" + "\n".join(
            f"  - {p}" for p in self.problems
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Wire:
    component: str
    port: str
    peer: str
    peer_port: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentSpec:
    name: str
    kind: str
    config: ComponentConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    description: str
    file: str
    base_dir: str
    start_s: float
    duration_s: float
    step_s: float
    seed: int
    trace: TraceLevel
    clock: str  # "manual" (study), "wall" or "accelerated:<factor>" (live)
    components: dict[str, ComponentSpec]
    wires: tuple[Wire, ...]
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def steps(self) -> int:
        return round(self.duration_s / self.step_s)

    def with_overrides(self, **changes: Any) -> Scenario:
        from dataclasses import replace

        return replace(self, **changes)

    def with_config(self, component: str, **update: Any) -> Scenario:
        """The same scenario with some config fields of one component changed (not re-validated:
        for studies that vary a validated scenario, e.g. the HEMS strategy)."""
        from dataclasses import replace

        spec = self.components[component]
        changed = replace(spec, config=spec.config.model_copy(update=update))
        return replace(self, components={**self.components, component: changed})


_TOP_KEYS = {"name", "description", "start", "duration", "end", "step", "seed", "trace", "clock", "components", "outputs"}


def load_scenario(path: str | Path, *, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file; raise `ScenarioError` listing every problem."""
    path = Path(path)
    fname = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([ScenarioProblem(fname, None, None, f"cannot read file: {exc.strerror}")]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError([ScenarioProblem(fname, None, None, f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise ScenarioError([ScenarioProblem(fname, None, None, "top level must be a mapping")])
    if overrides:
        raw = {**raw, **overrides}
    return parse_scenario(raw, file=fname, base_dir=str(path.parent.resolve()))


def parse_scenario(raw: dict[str, Any], *, file: str, base_dir: str) -> Scenario:
    load_component_types()
    problems: list[ScenarioProblem] = []

    def problem(component: str | None, fld: str | None, message: str) -> None:
        problems.append(ScenarioProblem(file, component, fld, message))

    for key in raw:
        if key not in _TOP_KEYS:
            near = difflib.get_close_matches(str(key), _TOP_KEYS, n=1)
            problem(None, str(key), "unknown top-level key" + (f"; did you mean {near[0]!r}?" if near else ""))

    start_s = duration_s = step_s = None
    for key in ("start", "step"):
        if key not in raw:
            problem(None, key, "missing")
    try:
        start_s = parse_time_s(raw["start"]) if "start" in raw else None
    except ValueError as exc:
        problem(None, "start", str(exc))
    try:
        step_s = parse_duration_s(raw["step"]) if "step" in raw else None
        if step_s is not None and step_s <= 0:
            problem(None, "step", f"must be > 0, got {raw['step']!r}")
            step_s = None
    except ValueError as exc:
        problem(None, "step", str(exc))
    if "duration" in raw and "end" in raw:
        problem(None, "duration", "give either 'duration' or 'end', not both")
    elif "duration" in raw:
        try:
            duration_s = parse_duration_s(raw["duration"])
        except ValueError as exc:
            problem(None, "duration", str(exc))
    elif "end" in raw:
        try:
            end_s = parse_time_s(raw["end"])
            if start_s is not None:
                duration_s = end_s - start_s
        except ValueError as exc:
            problem(None, "end", str(exc))
    else:
        problem(None, "duration", "missing (give 'duration' or 'end')")
    if duration_s is not None and duration_s <= 0:
        problem(None, "duration", f"the span must be > 0 s, got {duration_s:g} s")
        duration_s = None
    if duration_s is not None and step_s is not None:
        n = duration_s / step_s
        if abs(n - round(n)) > 1e-9 * max(1.0, n):
            problem(None, "step", f"step {step_s:g} s does not divide the span {duration_s:g} s ({n:.4g} steps)")

    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problem(None, "seed", f"must be a non-negative integer, got {seed!r}")
        seed = 0
    try:
        trace = TraceLevel(raw.get("trace", "full"))
    except ValueError:
        problem(None, "trace", f"must be one of {[t.value for t in TraceLevel]}, got {raw.get('trace')!r}")
        trace = TraceLevel.FULL
    clock = str(raw.get("clock", "manual"))
    if not re.fullmatch(r"manual|wall|accelerated:\d+(\.\d+)?", clock):
        problem(None, "clock", f"must be 'manual', 'wall' or 'accelerated:<factor>', got {clock!r}")

    components: dict[str, ComponentSpec] = {}
    connects: dict[str, dict[str, Any]] = {}
    raw_components = raw.get("components")
    if not isinstance(raw_components, dict) or not raw_components:
        problem(None, "components", "missing or empty: a scenario needs at least one component")
        raw_components = {}
    for name, spec in raw_components.items():
        name = str(name)
        if not isinstance(spec, dict):
            problem(name, None, "must be a mapping with 'component', 'config', 'connect'")
            continue
        for key in spec:
            if key not in ("component", "config", "connect"):
                problem(name, str(key), "unknown key (allowed: component, config, connect)")
        kind = spec.get("component")
        if kind not in COMPONENT_TYPES:
            near = difflib.get_close_matches(str(kind), COMPONENT_TYPES, n=2)
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            problem(name, "component", f"unknown component {kind!r}{hint}")
            continue
        cls = COMPONENT_TYPES[kind]
        cfg_raw = spec.get("config") or {}
        if not isinstance(cfg_raw, dict):
            problem(name, "config", "must be a mapping")
            continue
        try:
            config = cls.Config.model_validate(cfg_raw, context={"base_dir": base_dir, "file": file})
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                msg = err["msg"]
                if err["type"] == "extra_forbidden":
                    msg = "unknown config field"
                problem(name, f"config.{loc}" if loc else "config", msg)
            continue
        components[name] = ComponentSpec(name=name, kind=kind, config=config)
        connects[name] = spec.get("connect") or {}

    wires = _check_wiring(components, connects, raw_components, problem)
    if start_s is not None and duration_s is not None:
        for spec in components.values():
            for fld, msg in COMPONENT_TYPES[spec.kind].check_span(spec.config, start_s, start_s + duration_s, base_dir):
                problem(spec.name, fld, msg)

    if problems:
        raise ScenarioError(problems)
    assert start_s is not None and duration_s is not None and step_s is not None
    return Scenario(
        name=str(raw.get("name", Path(file).stem)),
        description=str(raw.get("description", "")),
        file=file,
        base_dir=base_dir,
        start_s=start_s,
        duration_s=duration_s,
        step_s=step_s,
        seed=seed,
        trace=trace,
        clock=clock,
        components=components,
        wires=tuple(wires),
        outputs=dict(raw.get("outputs") or {}),
    )


def _check_wiring(
    components: dict[str, ComponentSpec],
    connects: dict[str, Any],
    raw_components: dict[str, Any],
    problem: Any,
) -> list[Wire]:
    wires: list[Wire] = []
    for name, connect in connects.items():
        cls = COMPONENT_TYPES[components[name].kind]
        if not isinstance(connect, dict):
            problem(name, "connect", "must be a mapping of port: peer.port")
            continue
        for port_name, target in connect.items():
            port = cls.port(str(port_name))
            if port is None:
                known = [p.name for p in cls.ports(Direction.REQUIRES)]
                problem(name, f"connect.{port_name}", f"{cls.kind} has no requiring port {port_name!r} (ports: {known})")
                continue
            if port.direction is not Direction.REQUIRES:
                problem(name, f"connect.{port_name}", f"port {port_name!r} is provided, not required: wire it from the peer")
                continue
            targets = target if isinstance(target, list) else [target]
            if not port.many and len(targets) != 1:
                problem(name, f"connect.{port_name}", f"port takes one peer, got {len(targets)}")
                continue
            for t in targets:
                if not isinstance(t, str) or t.count(".") != 1:
                    problem(name, f"connect.{port_name}", f"must be 'component.port', got {t!r}")
                    continue
                peer, peer_port_name = t.split(".")
                if peer not in components:
                    if peer in raw_components:
                        continue  # the peer has its own errors, reported above
                    problem(name, f"connect.{port_name}", f"no component named {peer!r}")
                    continue
                peer_cls = COMPONENT_TYPES[components[peer].kind]
                peer_port = peer_cls.port(peer_port_name)
                if peer_port is None:
                    known = [p.name for p in peer_cls.ports(Direction.PROVIDES)]
                    problem(name, f"connect.{port_name}", f"{peer} ({peer_cls.kind}) has no port {peer_port_name!r} (provides: {known})")
                    continue
                if peer_port.direction is not Direction.PROVIDES:
                    problem(name, f"connect.{port_name}", f"{peer}.{peer_port_name} is a requiring port; connect to a provided one")
                    continue
                if peer_port.interface != port.interface:
                    problem(
                        name,
                        f"connect.{port_name}",
                        f"interface mismatch: {port_name} is {port.interface} but {peer}.{peer_port_name} is {peer_port.interface}",
                    )
                    continue
                wires.append(Wire(component=name, port=port.name, peer=peer, peer_port=peer_port.name))
        groups: dict[str, list[Port]] = {}
        for port in cls.ports(Direction.REQUIRES):
            if port.one_of:
                groups.setdefault(port.one_of, []).append(port)
        for members in groups.values():
            names = [p.name for p in members]
            wired = [n for n in names if n in connect]
            if not wired:
                iface = INTERFACES.get(members[0].interface)
                what = f" ({iface.between})" if iface else ""
                problem(name, f"connect.{'|'.join(names)}",
                        f"required port {members[0].interface}{what} is not connected: connect exactly one of {names}")
            elif len(wired) > 1:
                problem(name, f"connect.{'|'.join(names)}", f"connect only one of {names}, got {wired}")
        for port in cls.ports(Direction.REQUIRES):
            if not port.optional and port.name not in connect:
                iface = INTERFACES.get(port.interface)
                what = f" ({iface.between})" if iface else ""
                problem(name, f"connect.{port.name}", f"required port {port.interface}{what} is not connected")
    return wires
