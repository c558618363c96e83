"""Reversion timers: a control written with a reversion time falls back to its reversion
value when the time runs out (SunSpec 704 `*RvrtTms` / `*RvrtRem` / `*Rvrt`, IEEE 1547-2018
§10.10 "reversion"; legacy 123 `WMaxLimPct_RvrtTms` and 124 `InOutWRte_RvrtTms`: "timeout
period", after which the control is no longer in force).

This is the fail-safe that keeps a plant sane when its HEMS goes away: the HEMS has to
re-write its limit before the timer expires. Time is given (`now`, seconds on any monotonic
scale); nothing here reads a clock.

Rules first: which writes arm which timer, and what each point reverts to (the name of a
point to copy from, or a constant).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .image import DeviceImage, PointWrite


@dataclass(frozen=True, slots=True, kw_only=True)
class ReversionRule:
    model_id: int
    triggers: frozenset[str]  # writing any of these (re)starts the timer
    timer: str  # point holding the reversion time in seconds (0 or unset: no reversion)
    remaining: str | None  # point that shows the seconds left
    revert: Mapping[str, str | int]  # point -> point to copy from, or a constant


RULES: Final = (
    ReversionRule(
        model_id=704,
        triggers=frozenset({"WMaxLimPctEna", "WMaxLimPct"}),
        timer="WMaxLimPctRvrtTms",
        remaining="WMaxLimPctRvrtRem",
        revert={"WMaxLimPct": "WMaxLimPctRvrt", "WMaxLimPctEna": "WMaxLimPctEnaRvrt"},
    ),
    ReversionRule(
        model_id=704,
        triggers=frozenset({"WSetEna", "WSetMod", "WSet", "WSetPct"}),
        timer="WSetRvrtTms",
        remaining="WSetRvrtRem",
        revert={"WSet": "WSetRvrt", "WSetPct": "WSetPctRvrt", "WSetEna": "WSetEnaRvrt"},
    ),
    ReversionRule(
        model_id=123,
        triggers=frozenset({"WMaxLimPct", "WMaxLim_Ena"}),
        timer="WMaxLimPct_RvrtTms",
        remaining=None,
        revert={"WMaxLim_Ena": 0},
    ),
    ReversionRule(
        model_id=124,
        triggers=frozenset({"InWRte", "OutWRte", "StorCtl_Mod"}),
        timer="InOutWRte_RvrtTms",
        remaining=None,
        revert={"StorCtl_Mod": 0},
    ),
)


class ReversionTimers:
    """Armed timers of one device: `on_writes()` after accepted writes, `handle_timeout(now)`
    when `next_deadline()` has passed, `show_remaining(now)` before answering a read."""

    def __init__(self, device: DeviceImage, rules: Iterable[ReversionRule] = RULES) -> None:
        self._device = device
        present = {model.model_id for model in device.models}
        self._rules = tuple(rule for rule in rules if rule.model_id in present)
        self._deadlines: dict[int, float] = {}  # index into self._rules -> when it expires

    def on_writes(self, writes: Iterable[PointWrite], *, now: float) -> None:
        written = {(w.model_id, w.path) for w in writes}
        for i, rule in enumerate(self._rules):
            triggered = any((rule.model_id, path) in written for path in rule.triggers)
            retimed = i in self._deadlines and (rule.model_id, rule.timer) in written
            if not (triggered or retimed):
                continue
            seconds = self._device.model(rule.model_id).get(rule.timer)
            if isinstance(seconds, int | float) and seconds > 0:
                self._deadlines[i] = now + float(seconds)
            else:
                self._deadlines.pop(i, None)

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def handle_timeout(self, *, now: float) -> tuple[PointWrite, ...]:
        """Revert every control whose time is up; returns what changed."""
        changes: list[PointWrite] = []
        for i, deadline in sorted(self._deadlines.items()):
            if deadline > now:
                continue
            del self._deadlines[i]
            rule = self._rules[i]
            model = self._device.model(rule.model_id)
            for path, source in rule.revert.items():
                value = model.get(source) if isinstance(source, str) else source
                model.set(path, value)
                changes.append(PointWrite(model_id=rule.model_id, model_index=0, path=path, value=value))
            if rule.remaining is not None:
                model.set(rule.remaining, 0)
        return tuple(changes)

    def show_remaining(self, *, now: float) -> None:
        for i, rule in enumerate(self._rules):
            if rule.remaining is None:
                continue
            deadline = self._deadlines.get(i)
            left = 0 if deadline is None else max(0, round(deadline - now))
            self._device.model(rule.model_id).set(rule.remaining, left)
