"""The OEM backend's view of its cars: latest status, owner's settings, last SoC command.

In memory (a telematics backend keeps the latest state per car; history is not its job
here). Listeners are called on every change, which is how the BEV app's WebSocket gets its
pushes.
"""

from __future__ import annotations

from collections.abc import Callable

from bidicharge.components.interfaces.i02_telematics import (
    OwnerSettings,
    SocCommand,
    VehicleStatus,
    VehicleView,
)

Listener = Callable[[VehicleView], None]


class CommandRefused(ValueError):
    """The aggregator asked for something the owner did not allow (the aggregator's fault)."""


class OemStore:
    def __init__(self) -> None:
        self._status: dict[str, VehicleStatus] = {}
        self._settings: dict[str, OwnerSettings] = {}
        self._command: dict[str, SocCommand] = {}
        self._listeners: list[Listener] = []
        self.refused_reports = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def vins(self) -> list[str]:
        return sorted(set(self._status) | set(self._settings))

    def view(self, vin: str) -> VehicleView | None:
        if vin not in self._status and vin not in self._settings:
            return None
        return VehicleView(vin=vin, status=self._status.get(vin), settings=self._settings.get(vin),
                           last_command=self._command.get(vin))

    def _changed(self, vin: str) -> None:
        view = self.view(vin)
        if view is not None:
            for listener in list(self._listeners):
                listener(view)

    def put_status(self, status: VehicleStatus) -> None:
        previous = self._status.get(status.vin)
        if previous is not None and status.time_s < previous.time_s:
            self.refused_reports += 1  # an old report overtaken on the way: keep the newer one
            return
        self._status[status.vin] = status
        if status.settings is not None and status.vin not in self._settings:
            self._settings[status.vin] = status.settings  # set in the car; the app's setting wins
        self._changed(status.vin)

    def put_settings(self, vin: str, settings: OwnerSettings) -> None:
        self._settings[vin] = settings
        self._changed(vin)

    def settings(self, vin: str) -> OwnerSettings | None:
        return self._settings.get(vin)

    def authorised(self, vin: str, aggregator: str) -> bool:
        settings = self._settings.get(vin)
        return settings is not None and settings.aggregator == aggregator

    def for_aggregator(self, aggregator: str) -> list[VehicleView]:
        views = (self.view(vin) for vin in self.vins() if self.authorised(vin, aggregator))
        return [v for v in views if v is not None]

    def accept_command(self, command: SocCommand) -> None:
        """Check an aggregator's SoC setting against the owner's consent and settings."""
        settings = self._settings.get(command.vin)
        if settings is None or settings.aggregator != command.aggregator:
            raise CommandRefused(f"the owner of {command.vin} has not authorised {command.aggregator!r}")
        if command.max_soc < settings.target_soc:
            raise CommandRefused(f"max_soc {command.max_soc} is below the owner's target_soc {settings.target_soc}")
        if command.min_soc < settings.min_soc_for_discharge:
            raise CommandRefused(
                f"min_soc {command.min_soc} is below the owner's min_soc_for_discharge {settings.min_soc_for_discharge}")
        status = self._status.get(command.vin)
        if not settings.v2g_consent and status is not None and command.min_soc < status.soc - 1e-9:
            raise CommandRefused(f"min_soc {command.min_soc} would allow a discharge; the owner gave no V2G consent")
        self._command[command.vin] = command
        self._changed(command.vin)

    def take_command(self, vin: str) -> SocCommand | None:
        return self._command.get(vin)
