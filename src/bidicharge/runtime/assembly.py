"""Build the component instances of a validated scenario and wire their links."""

from __future__ import annotations

import numpy as np

from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import COMPONENT_TYPES, Component, RunContext
from bidicharge.runtime.ports import Link
from bidicharge.runtime.scenario import Scenario, ScenarioError, ScenarioProblem
from bidicharge.runtime.trace import TraceRecorder


def assemble(scenario: Scenario, trace: TraceRecorder, clock: Clock | None = None) -> dict[str, Component]:
    """Instantiate every component (in scenario order) and create its links."""
    root = np.random.default_rng(scenario.seed)
    seeds = root.spawn(len(scenario.components))
    components: dict[str, Component] = {}
    problems: list[ScenarioProblem] = []
    for (name, spec), rng in zip(scenario.components.items(), seeds, strict=True):
        ctx = RunContext(
            trace=trace,
            rng=rng,
            start_s=scenario.start_s,
            end_s=scenario.end_s,
            step_s=scenario.step_s,
            base_dir=scenario.base_dir,
            clock=clock,
        )
        try:
            components[name] = COMPONENT_TYPES[spec.kind](name, spec.config, ctx)
        except ValueError as exc:
            problems.append(ScenarioProblem(scenario.file, name, "config", str(exc)))
    if problems:
        raise ScenarioError(problems)
    for wire in scenario.wires:
        local, peer = components[wire.component], components[wire.peer]
        local_port, peer_port = type(local).port(wire.port), type(peer).port(wire.peer_port)
        assert local_port is not None and peer_port is not None
        link = Link(local=local, local_port=local_port, peer=peer, peer_port=peer_port, trace=trace)
        local.links.setdefault(wire.port, []).append(link)
        peer.inbound.setdefault(wire.peer_port, []).append(link)
    return components


def step_order(components: dict[str, Component]) -> list[Component]:
    """Study-mode order: by phase, then in scenario order (stable)."""
    return sorted(components.values(), key=lambda c: c.phase)
