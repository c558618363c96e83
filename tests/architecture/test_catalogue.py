"""The catalogue holds every row of the seed's catalogue (tests/data/CATALOGUE.md, a copy
of shared/seed/CATALOGUE.md) under its id, with endpoints that are components."""

from __future__ import annotations

from pathlib import Path

import pytest

from bidicharge.architecture import (
    COMPONENTS,
    INTERFACES,
    UnknownIdError,
    component,
    interface,
    interfaces_of,
)

CATALOGUE = Path(__file__).parents[1] / "data" / "CATALOGUE.md"


def _rows(header: str) -> list[list[str]]:
    section = CATALOGUE.read_text(encoding="utf-8").split(header, 1)[1]
    out = []
    for line in section.splitlines():
        if line.startswith("## ") and out:
            break
        if line.startswith("| ") and not line.startswith("| id") and not line.startswith("|---"):
            out.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return out


def test_every_component_row_is_in_the_catalogue() -> None:
    rows = _rows("## Components")
    assert len(rows) == 42
    for cid, name, role in rows:
        info = component(cid)
        assert (info.name, info.role) == (name, role)
    assert len(COMPONENTS) == 42


def test_every_interface_row_is_in_the_catalogue() -> None:
    rows = _rows("## Interfaces")
    assert len(rows) == 58
    for iid, between, purpose, protocols in rows:
        info = interface(iid)
        assert (info.between, info.purpose, info.protocols) == (between, purpose, protocols)
    assert len(INTERFACES) == 58


def test_interface_endpoints_are_catalogue_components() -> None:
    for info in INTERFACES.values():
        assert info.a in COMPONENTS and info.b in COMPONENTS, info.id
        assert info.a != info.b, info.id


@pytest.mark.parametrize(
    ("iid", "a", "b"),
    [("I-01", "C-BEV", "C-EVSE"), ("I-04", "C-EVSE", "C-CPO-BACKEND"), ("I-10", "C-AEMP", "C-CU"),
     ("I-24", "C-TSO-CC", "C-COMM-AGG"), ("I-56", "C-MSP-BACKEND", "C-CPO-BACKEND")],
)
def test_endpoints_resolve_as_the_seed_says(iid: str, a: str, b: str) -> None:
    assert interface(iid).endpoints == (a, b)


def test_cls_interface_passes_through_the_gateway() -> None:
    assert interface("I-10").via == ("C-SMGW", "C-CLS-TUNNEL")


def test_unknown_id_names_the_nearest() -> None:
    with pytest.raises(UnknownIdError, match="I-01"):
        interface("I-1")


def test_interfaces_of_a_component() -> None:
    ids = {i.id for i in interfaces_of("C-EVSE")}
    assert {"I-01", "I-03", "I-04", "I-05", "I-41"} <= ids
