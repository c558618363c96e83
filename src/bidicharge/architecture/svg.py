"""Draw the component graph as SVG (pure Python, no Graphviz needed).

Components sit in five columns by domain; each interface is a curve between its two
endpoints, coloured by its implementation state (given by the caller, computed from the
code by `runtime.conformance`).
"""

from __future__ import annotations

from html import escape

from bidicharge.architecture.catalogue import COMPONENTS, INTERFACES

COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Vehicle & charging", ("C-BEV", "C-BEV-APP", "C-EVSE", "C-EVSE-BACKEND", "C-CPO-BACKEND", "C-OEM-BACKEND",
                            "C-MSP-APP", "C-MSP-BACKEND", "C-PAY-APP", "C-PSP-BACKEND")),
    ("Home", ("C-HEMS", "C-HEMS-APP", "C-HEMS-BACKEND", "C-PLANTS", "C-GCP")),
    ("Metering & §14a", ("C-IMSYS", "C-MMU", "C-SMGW", "C-CLS-TUNNEL", "C-CU", "C-RELAYS", "C-GWA", "C-AEMP",
                         "C-PEMP", "C-CLS-MGMT", "C-MPO")),
    ("Aggregation & markets", ("C-TECH-AGG", "C-AGG-APP", "C-COMM-AGG", "C-TRADING", "C-EP-BACKEND", "C-MARKET",
                               "C-PLANT-OP", "C-POWERPLANT")),
    ("Grid", ("C-TSO-CC", "C-DSO-CC", "C-GRID-CTRL", "C-DSO-BACKEND", "C-DSO-BILLING", "C-DSO-METERING",
              "C-LV-MV-GRID", "C-HV-GRID")),
)

STATE_COLOURS = {
    "on the wire": "#1a7f37",
    "physical model": "#8250df",
    "in memory": "#d4a72c",
    "protocol core only": "#0969da",
    "not implemented": "#c8c8c8",
}


def render_svg(states: dict[str, str], implemented_components: set[str]) -> str:
    """`states`: interface id -> state label (a key of STATE_COLOURS)."""
    col_w, row_h, box_w, box_h, top = 250, 62, 190, 34, 70
    pos: dict[str, tuple[float, float]] = {}
    for ci, (_, ids) in enumerate(COLUMNS):
        for ri, cid in enumerate(ids):
            pos[cid] = (40 + ci * col_w, top + ri * row_h)
    width = 40 + len(COLUMNS) * col_w
    height = top + max(len(ids) for _, ids in COLUMNS) * row_h + 90
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for ci, (title, _) in enumerate(COLUMNS):
        out.append(f'<text x="{40 + ci * col_w}" y="40" font-weight="bold" font-size="14">{escape(title)}</text>')
    for iid, info in INTERFACES.items():
        if info.a not in pos or info.b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[info.a], pos[info.b]
        x1c, y1c, x2c, y2c = x1 + box_w / 2, y1 + box_h / 2, x2 + box_w / 2, y2 + box_h / 2
        state = states.get(iid, "not implemented")
        colour = STATE_COLOURS.get(state, "#999")
        bend = 60 if abs(x1 - x2) < 1 else 0
        mx, my = (x1c + x2c) / 2 + bend, (y1c + y2c) / 2 - (30 if bend == 0 else 0)
        w = 2.5 if state != "not implemented" else 1
        out.append(
            f'<path d="M{x1c:.0f},{y1c:.0f} Q{mx:.0f},{my:.0f} {x2c:.0f},{y2c:.0f}" fill="none" stroke="{colour}" '
            f'stroke-width="{w}" opacity="0.8"><title>{escape(iid)} {escape(info.between)}: {escape(state)}</title></path>'
        )
        out.append(f'<text x="{mx:.0f}" y="{my:.0f}" font-size="9" fill="{colour}">{escape(iid)}</text>')
    for cid, (x, y) in pos.items():
        fill = "#dff5e3" if cid in implemented_components else "#f4f4f4"
        out.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="{fill}" stroke="#555"/>')
        out.append(f'<text x="{x + 8}" y="{y + 14}" font-weight="bold">{escape(cid)}</text>')
        out.append(f'<text x="{x + 8}" y="{y + 28}" font-size="10">{escape(COMPONENTS[cid].name[:32])}</text>')
    ly = height - 40
    for i, (label, colour) in enumerate(STATE_COLOURS.items()):
        out.append(f'<line x1="{40 + i * 200}" y1="{ly}" x2="{70 + i * 200}" y2="{ly}" stroke="{colour}" stroke-width="3"/>')
        out.append(f'<text x="{76 + i * 200}" y="{ly + 4}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
