"""A German low-voltage distribution grid (Kerber reference networks) and its power flow.

The Kerber networks (Kerber 2011, shipped by pandapower as ``pandapower.networks.create_kerber_*``)
are the usual test grids for German LV studies: the *Dorfnetz* (village, 400 kVA, 57 houses,
cables) is the default, the *Landnetz* variants (rural, 100–160 kVA, overhead lines or
cables) are selectable. Every household connection point (GCP) is addressed by the name of its
load bus (``HouseholdId``), e.g. ``"loadbus_1_1"``.

Sign convention (``physics`` package): a household's power is positive when it draws from the
grid (consumption, charging) and negative when it feeds in.

Three solvers, all pure functions of ``(grid, powers)`` — every call overwrites every
household's power before solving, so nothing from an earlier call leaks into the next:

* :func:`solve` — pandapower ``runpp`` (balanced, positive sequence); the reference.
* :func:`solve_fast` — the same balanced model in plain numpy: the bus admittance matrix is taken
  from pandapower once and the constant-power loads are solved by a Z-bus fixed-point
  iteration, vectorised over many cases (1440 minutes of a day in one call). Agrees with
  ``runpp`` to < 0.01 % loading and 1e-6 pu (tested). Used for day studies and by the grid
  controller's re-checks.
* :func:`solve_3ph` — pandapower ``runpp_3ph`` for unbalanced loads (single-phase chargers).
  The Kerber data carry no zero-sequence values; we assume them (documented at
  :data:`ZERO_SEQUENCE_ASSUMPTION`), which does not change balanced results (tested: equal to
  ``runpp``) but makes unbalanced figures indicative only. About 0.1–0.6 s per case.

pandapower is a heavy import: it is only imported inside the functions that need it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NewType

import numpy as np
import numpy.typing as npt

HouseholdId = NewType("HouseholdId", str)
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

SQRT3: Final = math.sqrt(3.0)
NOMINAL_PHASE_VOLTAGE_V: Final = 230.0

ZERO_SEQUENCE_ASSUMPTION: Final = (
    "Kerber data have no zero-sequence values; for runpp_3ph we assume: lines r0 = 4 r1, x0 = 4 x1, "
    "c0 = c1 (4-core cable, neutral as return); transformer Dyn with vk0 = vk, vkr0 = vkr, "
    "mag0 = 100 %, si0_hv_partial = 0.9; MV grid s_sc = 100 MVA, R/X = 0.1, X0/X = 1, R0/X0 = 0.1 (verify)"
)


class KerberNetwork(StrEnum):
    DORFNETZ = "dorfnetz"
    LANDNETZ_FREILEITUNG_1 = "landnetz_freileitung_1"
    LANDNETZ_FREILEITUNG_2 = "landnetz_freileitung_2"
    LANDNETZ_KABEL_1 = "landnetz_kabel_1"
    LANDNETZ_KABEL_2 = "landnetz_kabel_2"


LANDNETZ: Final = KerberNetwork.LANDNETZ_FREILEITUNG_1
"""The Landnetz used when a scenario just says "landnetz" (the reference's congestion table)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhasePower:
    """A household's net power per phase (W, positive = drawn from the grid)."""

    a_W: float = 0.0
    b_W: float = 0.0
    c_W: float = 0.0

    @property
    def total_W(self) -> float:
        return self.a_W + self.b_W + self.c_W

    @classmethod
    def symmetric(cls, total_W: float) -> PhasePower:
        third = total_W / 3.0
        return cls(a_W=third, b_W=third, c_W=third)

    @classmethod
    def with_single_phase_device(cls, base_total_W: float, device_W: float, phase: str = "a") -> PhasePower:
        """A balanced base load plus one single-phase device (e.g. a 1-phase charger) on ``phase``."""
        base = cls.symmetric(base_total_W)
        extra = {"a": (device_W, 0.0, 0.0), "b": (0.0, device_W, 0.0), "c": (0.0, 0.0, device_W)}[phase]
        return cls(a_W=base.a_W + extra[0], b_W=base.b_W + extra[1], c_W=base.c_W + extra[2])


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GridResult:
    """One power-flow result; arrays are aligned with the grid's ``bus_names`` / ``line_names``."""

    transformer_loading_pct: float
    transformer_power_W: float
    """Active power through the transformer, measured on the MV side (positive = LV grid imports)."""
    line_loading_pct: FloatArray
    bus_voltage_pu: FloatArray
    """Per bus; with :func:`solve_3ph` the lowest of the three phases."""
    bus_voltage_max_pu: FloatArray
    """Per bus; with :func:`solve_3ph` the highest phase, else equal to ``bus_voltage_pu``."""
    converged: bool = True

    @property
    def vmin_pu(self) -> float:
        return float(self.bus_voltage_pu.min())

    @property
    def vmax_pu(self) -> float:
        return float(self.bus_voltage_max_pu.max())

    @property
    def max_line_loading_pct(self) -> float:
        return float(self.line_loading_pct.max())


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _FastModel:
    z_ll: ComplexArray  # inverse of Ybus without the slack row/column (for sensitivities)
    y_ll_lu: Any  # sparse LU of Ybus without the slack row/column (scipy SuperLU)
    v_noload: ComplexArray  # PQ-bus voltages with no load (includes the transformer's phase shift)
    yf: Any  # sparse branch admittances (scipy CSR), from side
    yt: Any
    n_bus: int
    v_slack: complex
    slack: int
    pq: npt.NDArray[np.intp]
    household_pq_pos: npt.NDArray[np.intp]  # position of each household's bus within ``pq``
    bus_pos: npt.NDArray[np.intp]  # ppc index of each bus of ``bus_names``
    f_bus: npt.NDArray[np.intp]
    t_bus: npt.NDArray[np.intp]
    line_rows: npt.NDArray[np.intp]
    trafo_row: int
    base_VA: float
    i_base_from_A: FloatArray  # per branch, A per pu current at the from bus
    i_base_to_A: FloatArray
    line_max_A: FloatArray
    trafo_rated_hv_A: float
    trafo_rated_lv_A: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LvGrid:
    """A Kerber network ready to solve. Build it with :func:`build_lv_grid` (once; it is slow)."""

    kind: KerberNetwork
    household_ids: tuple[HouseholdId, ...]
    bus_names: tuple[str, ...]
    line_names: tuple[str, ...]
    transformer_rating_VA: float
    design_load_W: float
    """Kerber's coincident design load per household (Dorfnetz 6 kW, Landnetz 8 kW)."""
    line_rating_A: FloatArray
    net: Any = field(repr=False)
    _fast: _FastModel = field(repr=False)
    _net3: list[Any] = field(repr=False, default_factory=list)  # lazily built 3-phase copy

    def household_index(self, household_id: HouseholdId) -> int:
        return self.household_ids.index(household_id)

    def bus_index(self, name: str) -> int:
        return self.bus_names.index(name)

    @property
    def household_bus_pos(self) -> npt.NDArray[np.intp]:
        """Index into ``bus_names`` of each household's bus."""
        return np.array([self.bus_names.index(h) for h in self.household_ids], dtype=np.intp)

    def line_share(self) -> FloatArray:
        """Share of each household's current that flows through each line, shape (lines, households).

        ≈ 1 for lines between the household and the transformer, ≈ 0 elsewhere (radial grid); the
        grid controller's sensitivity of a line to a device.
        """
        m = self._fast
        dv = m.z_ll[:, m.household_pq_pos]  # dV_pq per unit current injected at each household
        full = np.zeros((m.n_bus, dv.shape[1]), dtype=np.complex128)
        full[m.pq, :] = dv
        return np.asarray(np.abs(m.yf[m.line_rows] @ full), dtype=np.float64)

    def voltage_sensitivity_pu_per_W(self) -> FloatArray:
        """d|V| of each bus per W drawn at each household (negative), shape (buses, households)."""
        m = self._fast
        sens = np.zeros((len(self.bus_names), len(self.household_ids)))
        z = m.z_ll[:, m.household_pq_pos]
        # dV = -Z dP/V*; project on the no-load voltage phasor for the magnitude change
        v0 = m.v_noload[:, None]
        dv = -(z * np.conj(m.v_noload[m.household_pq_pos])[None, :] ** -1) * v0.conj() / np.abs(v0)
        pq_sens = np.real(dv) / m.base_VA
        ppc_to_pos = {int(p): i for i, p in enumerate(m.bus_pos)}
        for row, ppc_bus in enumerate(m.pq):
            pos = ppc_to_pos.get(int(ppc_bus))
            if pos is not None:
                sens[pos] = pq_sens[row]
        return sens


_FACTORIES: Final = {
    KerberNetwork.DORFNETZ: "create_kerber_dorfnetz",
    KerberNetwork.LANDNETZ_FREILEITUNG_1: "create_kerber_landnetz_freileitung_1",
    KerberNetwork.LANDNETZ_FREILEITUNG_2: "create_kerber_landnetz_freileitung_2",
    KerberNetwork.LANDNETZ_KABEL_1: "create_kerber_landnetz_kabel_1",
    KerberNetwork.LANDNETZ_KABEL_2: "create_kerber_landnetz_kabel_2",
}


def build_lv_grid(kind: KerberNetwork = KerberNetwork.DORFNETZ) -> LvGrid:
    """Create the network with pandapower and prepare the fast solver (about 1–3 s)."""
    import pandapower as pp
    import pandapower.networks as pn

    net = getattr(pn, _FACTORIES[KerberNetwork(kind)])()
    bus_names = tuple(str(n) for n in net.bus.name)
    households = tuple(HouseholdId(bus_names[int(b)]) for b in net.load.bus)
    design_load_W = float(net.load.p_mw.iloc[0]) * 1e6
    pp.runpp(net, numba=False)
    fast = _fast_model(net, households, bus_names)
    line_rating_A = (net.line.max_i_ka * net.line.df * net.line.parallel).to_numpy(dtype=float) * 1e3
    return LvGrid(
        kind=KerberNetwork(kind),
        household_ids=households,
        bus_names=bus_names,
        line_names=tuple(str(n) for n in net.line.name),
        transformer_rating_VA=float(net.trafo.sn_mva.iloc[0]) * 1e6,
        design_load_W=design_load_W,
        line_rating_A=line_rating_A,
        net=net,
        _fast=fast,
    )


def _fast_model(net: Any, households: tuple[HouseholdId, ...], bus_names: tuple[str, ...]) -> _FastModel:
    from scipy.sparse.linalg import splu

    ppci = net._ppc["internal"]
    ybus_sparse = ppci["Ybus"].tocsc()
    ybus = ybus_sparse.toarray()
    n = ybus.shape[0]
    slack = int(ppci["ref"][0])
    pq = np.array([i for i in range(n) if i != slack], dtype=np.intp)
    v_slack = complex(ppci["V"][slack])
    z_ll = np.linalg.inv(ybus[np.ix_(pq, pq)])
    y_ll_lu = splu(ybus_sparse[pq][:, pq].tocsc())
    y_ls = ybus[pq, slack]
    v_noload = -np.asarray(y_ll_lu.solve(y_ls * v_slack))
    lookup = net._pd2ppc_lookups["bus"]
    bus_pos = np.array([int(lookup[int(b)]) for b in net.bus.index], dtype=np.intp)
    pq_pos = {int(b): i for i, b in enumerate(pq)}
    hh_pq = np.array([pq_pos[int(bus_pos[bus_names.index(h)])] for h in households], dtype=np.intp)
    branch = ppci["branch"]
    f_bus = branch[:, 0].real.astype(np.intp)
    t_bus = branch[:, 1].real.astype(np.intp)
    base_kv = ppci["bus"][:, 9].real
    base_mva = float(ppci["baseMVA"])
    i_base = base_mva * 1e6 / (SQRT3 * base_kv * 1e3)  # A per pu current, per bus
    line_start, line_end = net._pd2ppc_lookups["branch"]["line"]
    trafo_start, _ = net._pd2ppc_lookups["branch"]["trafo"]
    trafo = net.trafo.iloc[0]
    sn_VA = float(trafo.sn_mva) * 1e6 * float(trafo.parallel)
    return _FastModel(
        z_ll=z_ll,
        y_ll_lu=y_ll_lu,
        v_noload=v_noload,
        yf=ppci["Yf"].tocsr(),
        yt=ppci["Yt"].tocsr(),
        n_bus=n,
        v_slack=v_slack,
        slack=slack,
        pq=pq,
        household_pq_pos=hh_pq,
        bus_pos=bus_pos,
        f_bus=f_bus,
        t_bus=t_bus,
        line_rows=np.arange(line_start, line_end, dtype=np.intp),
        trafo_row=int(trafo_start),
        base_VA=base_mva * 1e6,
        i_base_from_A=i_base[f_bus],
        i_base_to_A=i_base[t_bus],
        line_max_A=(net.line.max_i_ka * net.line.df * net.line.parallel).to_numpy(dtype=float) * 1e3,
        trafo_rated_hv_A=sn_VA / (SQRT3 * float(trafo.vn_hv_kv) * 1e3),
        trafo_rated_lv_A=sn_VA / (SQRT3 * float(trafo.vn_lv_kv) * 1e3),
    )


def powers_array(grid: LvGrid, powers_W: Mapping[HouseholdId, float | PhasePower]) -> FloatArray:
    """Total power per household in ``grid.household_ids`` order; households not named draw 0 W."""
    unknown = set(powers_W) - set(grid.household_ids)
    if unknown:
        raise ValueError(f"unknown household ids: {sorted(unknown)[:5]}")
    out = np.zeros(len(grid.household_ids))
    for i, h in enumerate(grid.household_ids):
        p = powers_W.get(h, 0.0)
        out[i] = p.total_W if isinstance(p, PhasePower) else float(p)
    return out


def solve(grid: LvGrid, powers_W: Mapping[HouseholdId, float | PhasePower]) -> GridResult:
    """Balanced AC power flow with pandapower ``runpp`` (unity power factor loads)."""
    import pandapower as pp

    p = powers_array(grid, powers_W)
    net = grid.net
    net.load["p_mw"] = p / 1e6
    net.load["q_mvar"] = 0.0
    try:
        pp.runpp(net, numba=False)
    except pp.LoadflowNotConverged:
        nan = np.full(len(grid.bus_names), np.nan)
        return GridResult(
            transformer_loading_pct=math.nan,
            transformer_power_W=math.nan,
            line_loading_pct=np.full(len(grid.line_names), np.nan),
            bus_voltage_pu=nan,
            bus_voltage_max_pu=nan,
            converged=False,
        )
    vm = net.res_bus.vm_pu.to_numpy(dtype=float)
    return GridResult(
        transformer_loading_pct=float(net.res_trafo.loading_percent.iloc[0]),
        transformer_power_W=float(net.res_trafo.p_hv_mw.iloc[0]) * 1e6,
        line_loading_pct=net.res_line.loading_percent.to_numpy(dtype=float),
        bus_voltage_pu=vm,
        bus_voltage_max_pu=vm.copy(),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BatchResult:
    """:func:`solve_fast` over many cases; first axis = case."""

    transformer_loading_pct: FloatArray
    transformer_power_W: FloatArray
    line_loading_pct: FloatArray  # (cases, lines)
    bus_voltage_pu: FloatArray  # (cases, buses)
    converged: npt.NDArray[np.bool_]

    def case(self, i: int) -> GridResult:
        return GridResult(
            transformer_loading_pct=float(self.transformer_loading_pct[i]),
            transformer_power_W=float(self.transformer_power_W[i]),
            line_loading_pct=self.line_loading_pct[i],
            bus_voltage_pu=self.bus_voltage_pu[i],
            bus_voltage_max_pu=self.bus_voltage_pu[i],
            converged=bool(self.converged[i]),
        )


def solve_fast_batch(
    grid: LvGrid, powers_W: npt.ArrayLike, *, tol_pu: float = 1e-10, max_iter: int = 60
) -> BatchResult:
    """Balanced power flow for many cases at once; ``powers_W`` has shape (cases, households).

    Z-bus fixed point: with the slack voltage fixed, ``V = Z (I_load(V) − Y_ls V_s)`` where the
    constant-power load current is ``conj(S / V)``; radial LV grids converge in 5–15 iterations.
    For a few cases ``Z`` is applied through a sparse LU of ``Y`` (OpenBLAS threads made a
    single-case dense product cost milliseconds on a busy machine); for many, as a dense product.
    """
    m = grid._fast
    p = np.atleast_2d(np.asarray(powers_W, dtype=float))
    if p.shape[1] != len(grid.household_ids):
        raise ValueError(f"powers_W: {len(grid.household_ids)} households per case, got {p.shape[1]}")
    cases = p.shape[0]
    s_inj = np.zeros((len(m.pq), cases), dtype=np.complex128)
    s_inj[m.household_pq_pos, :] = -p.T / m.base_VA  # injection = -(consumption)
    v = np.repeat(m.v_noload[:, None], cases, axis=1)
    converged = np.zeros(cases, dtype=bool)
    dense = cases >= 32  # many cases: a dense BLAS product beats the sparse solve per right-hand side
    for _ in range(max_iter):
        i_load = np.conj(s_inj / v)
        v_new = m.v_noload[:, None] + (m.z_ll @ i_load if dense else m.y_ll_lu.solve(i_load))
        step = np.abs(v_new - v).max(axis=0)
        v = v_new
        converged = step < tol_pu
        if converged.all():
            break
    v_all = np.empty((m.n_bus, cases), dtype=np.complex128)
    v_all[m.slack, :] = m.v_slack
    v_all[m.pq, :] = v
    i_f = np.asarray(m.yf @ v_all)
    i_t = np.asarray(m.yt @ v_all)
    i_f_A = np.abs(i_f) * m.i_base_from_A[:, None]
    i_t_A = np.abs(i_t) * m.i_base_to_A[:, None]
    lines = np.maximum(i_f_A[m.line_rows], i_t_A[m.line_rows]) / m.line_max_A[:, None] * 100.0
    tr = m.trafo_row
    trafo = np.maximum(i_f_A[tr] / m.trafo_rated_hv_A, i_t_A[tr] / m.trafo_rated_lv_A) * 100.0
    p_hv = np.real(v_all[m.f_bus[tr]] * np.conj(i_f[tr])) * m.base_VA
    vm = np.abs(v_all[m.bus_pos, :]).T
    return BatchResult(
        transformer_loading_pct=trafo,
        transformer_power_W=p_hv,
        line_loading_pct=lines.T,
        bus_voltage_pu=vm,
        converged=converged,
    )


def solve_fast(grid: LvGrid, powers_W: Mapping[HouseholdId, float | PhasePower] | FloatArray) -> GridResult:
    """One balanced case with the numpy solver (a few hundred µs)."""
    p = powers_W if isinstance(powers_W, np.ndarray) else powers_array(grid, powers_W)
    return solve_fast_batch(grid, p[None, :]).case(0)


def _three_phase_net(grid: LvGrid) -> Any:
    if grid._net3:
        return grid._net3[0]
    import pandapower as pp

    net = copy.deepcopy(grid.net)
    net.ext_grid["s_sc_max_mva"] = 100.0
    net.ext_grid["rx_max"] = 0.1
    net.ext_grid["x0x_max"] = 1.0
    net.ext_grid["r0x0_max"] = 0.1
    # runpp_3ph supports Dyn but not the clock number; the phase shift does not change magnitudes
    net.trafo["vector_group"] = "Dyn"
    net.trafo["vk0_percent"] = net.trafo.vk_percent
    net.trafo["vkr0_percent"] = net.trafo.vkr_percent
    net.trafo["mag0_percent"] = 100.0
    net.trafo["mag0_rx"] = 0.0
    net.trafo["si0_hv_partial"] = 0.9
    net.line["r0_ohm_per_km"] = 4.0 * net.line.r_ohm_per_km
    net.line["x0_ohm_per_km"] = 4.0 * net.line.x_ohm_per_km
    net.line["c0_nf_per_km"] = net.line.c_nf_per_km
    buses = net.load.bus.tolist()
    net.load = net.load.iloc[0:0]
    for b in buses:
        pp.create_asymmetric_load(net, b, p_a_mw=0.0, p_b_mw=0.0, p_c_mw=0.0)
    grid._net3.append(net)
    return net


def solve_3ph(grid: LvGrid, powers_W: Mapping[HouseholdId, float | PhasePower]) -> GridResult:
    """Unbalanced power flow (pandapower ``runpp_3ph``); a float is taken as balanced.

    Transformer loading is the most loaded phase's; bus voltages are phase-to-neutral, lowest
    phase in ``bus_voltage_pu`` and highest in ``bus_voltage_max_pu``.
    """
    import pandapower as pp

    unknown = set(powers_W) - set(grid.household_ids)
    if unknown:
        raise ValueError(f"unknown household ids: {sorted(unknown)[:5]}")
    net = _three_phase_net(grid)
    phases = [powers_W.get(h, 0.0) for h in grid.household_ids]
    per_phase = [p if isinstance(p, PhasePower) else PhasePower.symmetric(float(p)) for p in phases]
    net.asymmetric_load["p_a_mw"] = [p.a_W / 1e6 for p in per_phase]
    net.asymmetric_load["p_b_mw"] = [p.b_W / 1e6 for p in per_phase]
    net.asymmetric_load["p_c_mw"] = [p.c_W / 1e6 for p in per_phase]
    try:
        pp.runpp_3ph(net, numba=False, max_iteration=50)
    except pp.LoadflowNotConverged:
        nan = np.full(len(grid.bus_names), np.nan)
        return GridResult(
            transformer_loading_pct=math.nan,
            transformer_power_W=math.nan,
            line_loading_pct=np.full(len(grid.line_names), np.nan),
            bus_voltage_pu=nan,
            bus_voltage_max_pu=nan,
            converged=False,
        )
    vm = net.res_bus_3ph[["vm_a_pu", "vm_b_pu", "vm_c_pu"]].to_numpy(dtype=float)
    rt = net.res_trafo_3ph.iloc[0]
    return GridResult(
        transformer_loading_pct=float(rt.loading_percent),
        transformer_power_W=float(rt.p_a_hv_mw + rt.p_b_hv_mw + rt.p_c_hv_mw) * 1e6,
        line_loading_pct=net.res_line_3ph.loading_percent.to_numpy(dtype=float),
        bus_voltage_pu=vm.min(axis=1),
        bus_voltage_max_pu=vm.max(axis=1),
    )
