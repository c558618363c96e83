"""The conformance matrix is computed from the code and covers the whole catalogue."""

from __future__ import annotations

from bidicharge.runtime import conformance
from bidicharge.runtime.component import load_component_types
from bidicharge.runtime.ports import ELECTRICAL, Direction


def test_all_interfaces_and_components_are_listed() -> None:
    rows = conformance.interface_status()
    comps = conformance.component_status()
    assert len(rows) == 58 and len({r.id for r in rows}) == 58
    assert len(comps) == 42


def test_status_follows_the_port_declarations() -> None:
    rows = {r.id: r for r in conformance.interface_status()}
    kinds = load_component_types()
    for kind, cls in kinds.items():
        for port in cls.PORTS:
            row = rows[port.interface]
            listed = row.providers if port.direction is Direction.PROVIDES else row.requirers
            assert f"{kind}.{port.name}" in listed
            assert port.protocol in row.carried_by
    assert rows["I-41"].state is conformance.State.PHYSICAL
    assert "evse.vehicle" in rows["I-01"].requirers and "bev.charger" in rows["I-01"].providers


# Physical measurements that reach a component through the grid rather than on an interface of
# its own: the wallbox measures the synchronous area's frequency (OCPP 2.1 LocalFrequency), which
# the HV grid's I-42 carries down through I-38 and I-41 to its terminals.
MEASURED_THROUGH_THE_GRID = {("evse", "frequency")}


def test_every_component_kind_names_a_catalogue_component() -> None:
    from bidicharge.architecture import COMPONENTS, INTERFACES, endpoint_ids

    for kind, cls in load_component_types().items():
        assert cls.catalogue_id in COMPONENTS, kind
        ids = {cls.catalogue_id, *cls.ACTS_AS}
        for port in cls.PORTS:
            assert port.interface in INTERFACES, f"{kind}.{port.name}"
            if (kind, port.name) in MEASURED_THROUGH_THE_GRID:
                assert port.protocol == ELECTRICAL, f"{kind}.{port.name}"
                continue
            assert ids & endpoint_ids(port.interface), (
                f"{kind}.{port.name}: {cls.catalogue_id} is not an endpoint of {port.interface} "
                f"({INTERFACES[port.interface].between})")
