"""The `bidicharge` command line: architecture, simulate, report, up."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="bidicharge: interoperable bidirectional charging")
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)


def resolve_scenario(name_or_path: str) -> Path:
    """A path to a YAML file, or the name of a built-in scenario (e.g. `home_v2h`)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    builtin = resources.files("bidicharge.scenarios") / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if builtin.is_file():
        return Path(str(builtin))
    names = sorted(p.name.removesuffix(".yaml") for p in resources.files("bidicharge.scenarios").iterdir() if p.name.endswith(".yaml"))
    err.print(f"[red]error:[/red] no scenario file {name_or_path!r} and no built-in scenario of that name (built-in: {', '.join(names)})")
    raise typer.Exit(2)


def _load(scenario: str, overrides: dict[str, object]):  # type: ignore[no-untyped-def]
    from bidicharge.runtime.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(resolve_scenario(scenario), overrides=overrides)
    except ScenarioError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def architecture(
    status: Annotated[bool, typer.Option("--status", help="per interface: who provides/requires it and what carries it")] = False,
    svg: Annotated[Path | None, typer.Option("--svg", help="write the component graph as SVG")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    db: Annotated[str | None, typer.Option("--db", help="with --status: count the messages of a stored run (SQLAlchemy URL)")] = None,
    run: Annotated[int | None, typer.Option("--run", help="with --db: the run id (default: the latest run)")] = None,
) -> None:
    """Print the catalogue of components and interfaces (from the seed)."""
    from bidicharge.architecture import COMPONENTS, INTERFACES
    from bidicharge.runtime import conformance

    traffic = _run_traffic(db, run) if status else None

    if svg is not None:
        from bidicharge.architecture.svg import render_svg

        rows = conformance.interface_status()
        comps = {c.id for c in conformance.component_status() if c.kinds}
        svg.write_text(render_svg({r.id: r.state.value for r in rows}, comps), encoding="utf-8")
        console.print(f"wrote {svg}")
        if not status:
            return
    if status:
        rows = conformance.interface_status()
        comps = conformance.component_status()
        if as_json:
            print(json.dumps({
                "interfaces": [{"id": r.id, "between": r.between, "state": r.state.value, "providers": r.providers,
                                "requirers": r.requirers, "carried_by": r.carried_by, "cores": r.cores,
                                **({"messages": traffic.messages.get(r.id, {})} if traffic else {})} for r in rows],
                "components": [{"id": c.id, "name": c.name, "kinds": c.kinds} for c in comps],
                **({"run": {"id": traffic.run_id, "scenario": traffic.scenario, "mode": traffic.mode}} if traffic else {}),
            }, indent=2))
            return
        t = Table(title=f"Interfaces ({len(rows)}) — computed from the code", show_lines=False)
        cols = ["id", "between", "state", "provided by", "required by", "carried by", "protocol cores"]
        if traffic:
            cols.append(f"messages in run #{traffic.run_id}")
        for col in cols:
            t.add_column(col, overflow="fold")
        colours = {"on the wire": "green", "physical model": "magenta", "in memory": "yellow", "protocol core only": "blue"}
        for r in rows:
            c = colours.get(r.state.value, "dim")
            cells = [r.id, r.between, f"[{c}]{r.state.value}[/{c}]", ", ".join(r.providers), ", ".join(r.requirers),
                     ", ".join(r.carried_by), ", ".join(r.cores)]
            if traffic:
                cells.append(", ".join(f"{n} {p}" for p, n in sorted(traffic.messages.get(r.id, {}).items())))
            t.add_row(*cells)
        console.print(t)
        if traffic:
            carried = [r.id for r in rows if traffic.total(r.id)]
            console.print(f"run #{traffic.run_id} ({traffic.scenario}, {traffic.mode}): {len(carried)} interfaces carried "
                          f"traffic: {' '.join(carried)}")
        ct = Table(title=f"Components ({len(comps)})")
        for col in ("id", "component", "implemented as"):
            ct.add_column(col)
        for c in comps:
            ct.add_row(c.id, c.name, ", ".join(c.kinds) if c.kinds else "[dim]not implemented[/dim]")
        console.print(ct)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.state.value] = counts.get(r.state.value, 0) + 1
        console.print("interfaces: " + ", ".join(f"{v} {k}" for k, v in counts.items())
                      + f"; components implemented: {sum(1 for c in comps if c.kinds)}/{len(comps)}")
        return
    if as_json:
        print(json.dumps({"components": [vars(c) if not hasattr(c, "__slots__") else {s: getattr(c, s) for s in c.__slots__} for c in COMPONENTS.values()],
                          "interfaces": [{s: getattr(i, s) for s in i.__slots__} for i in INTERFACES.values()]}, indent=2, default=list))
        return
    t = Table(title=f"Components ({len(COMPONENTS)})")
    t.add_column("id")
    t.add_column("component")
    t.add_column("role", overflow="fold")
    for c in COMPONENTS.values():
        t.add_row(c.id, c.name, c.role)
    console.print(t)
    it = Table(title=f"Interfaces ({len(INTERFACES)})")
    for col in ("id", "between", "endpoints", "purpose", "protocols (seed)"):
        it.add_column(col, overflow="fold")
    for i in INTERFACES.values():
        it.add_row(i.id, i.between, f"{i.a} – {i.b}", i.purpose, i.protocols)
    console.print(it)


def _run_traffic(db: str | None, run: int | None):  # type: ignore[no-untyped-def]
    """The message counts of a stored run for `architecture --status`, or None without --db."""
    if db is None:
        if run is not None:
            err.print("[red]error:[/red] --run needs --db (the store the run is in)")
            raise typer.Exit(2)
        return None
    from bidicharge.runtime.traffic import NoSuchRun, run_traffic

    if db.startswith("sqlite:///") and not db.startswith("sqlite:///:memory:") and not Path(db.removeprefix("sqlite:///")).is_file():
        err.print(f"[red]error:[/red] --db: no database file {db.removeprefix('sqlite:///')!r} (store a run with `bidicharge up … --db {db}`)")
        raise typer.Exit(2)
    try:
        return run_traffic(db, run)
    except NoSuchRun as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # a bad URL or an unreachable database: say which, stay clean
        err.print(f"[red]error:[/red] --db {db!r}: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None


def _kpi_table(kpis: dict[str, object], title: str) -> Table:
    from bidicharge.runtime.kpis import KPI_LABELS, format_kpi

    t = Table(title=title)
    t.add_column("key figure")
    t.add_column("value", justify="right")
    for key, value in kpis.items():
        if key in KPI_LABELS:
            t.add_row(KPI_LABELS[key][0], format_kpi(key, value, kpis))  # type: ignore[arg-type]
    return t


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="a scenario YAML file or a built-in name (home_v2h)")],
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out"),
    duration: Annotated[str | None, typer.Option(help="override the span, e.g. 1d, 365d")] = None,
    step: Annotated[str | None, typer.Option(help="override the step, e.g. 1min, 15min")] = None,
    start: Annotated[str | None, typer.Option(help="override the start (ISO 8601)")] = None,
    trace: Annotated[str | None, typer.Option(help="full | on_change | off")] = None,
    seed: Annotated[int | None, typer.Option(help="override the random seed")] = None,
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL to store the run (default: SQLite in OUT)")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="skip the plots in the report")] = False,
) -> None:
    """Run a study: simulated clock, fixed step; writes time series, trace, KPIs and a report."""
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    from bidicharge.runtime.kpis import study_kpis
    from bidicharge.runtime.report import write_outputs
    from bidicharge.runtime.storage import Storage
    from bidicharge.runtime.study import run_study

    overrides: dict[str, object] = {}
    for key, value in (("duration", duration), ("step", step), ("start", start), ("trace", trace), ("seed", seed)):
        if value is not None:
            overrides[key] = value
    sc = _load(scenario, overrides)
    with Progress("[progress.description]{task.description}", BarColumn(), "{task.percentage:>3.0f}%",
                  TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(f"simulating {sc.name}", total=sc.steps)
        result = run_study(sc, progress=lambda i, n: progress.update(task, completed=i))
    result.kpis = study_kpis(result)
    out_dir = out / sc.name
    paths = write_outputs(result, out_dir, plots=not no_plots)
    store = Storage(db or f"sqlite:///{out / 'bidicharge.db'}")
    run_id = store.add_run(scenario=sc.name, mode="study", start_s=sc.start_s, end_s=sc.end_s, kpis=result.kpis)
    store.add_trace(run_id, result.trace)
    for name in result.of_kind("mmu"):
        store.add_intervals(run_id, name, result.reports[name].get("interval_values", []))
    store.dispose()
    sim_per_wall = sc.duration_s / result.wall_time_s if result.wall_time_s > 0 else float("inf")
    console.print(_kpi_table(result.kpis, f"{sc.name}: {sc.duration_s / 86400:g} days at {sc.step_s:g} s steps"))
    console.print(f"{sc.steps:,} steps in {result.wall_time_s:.2f} s ({sim_per_wall:,.0f} simulated s per wall s); "
                  f"{len(result.trace):,} trace records; run #{run_id} stored")
    console.print(f"report: {paths['report']}")


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="a study output folder (with kpis.json)")],
) -> None:
    """Print the KPI table of a finished study and the path of its HTML report."""
    kpi_file = folder / "kpis.json"
    if not kpi_file.is_file():
        err.print(f"[red]error:[/red] {kpi_file} not found — run `bidicharge simulate` first")
        raise typer.Exit(2)
    try:
        kpis = json.loads(kpi_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        err.print(f"[red]error:[/red] {kpi_file} is not valid JSON: {exc}")
        raise typer.Exit(2) from None
    console.print(_kpi_table(kpis, str(folder)))
    console.print(f"report: {folder / 'report.html'}")


@app.command()
def up(
    scenario: Annotated[str, typer.Argument(help="a scenario YAML file or a built-in name")],
    accelerate: Annotated[float | None, typer.Option(help="run simulated time this many times faster than wall time")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="stop after this much simulated time, e.g. 1h")] = None,
    db: Annotated[str, typer.Option(help="SQLAlchemy URL where the run and its trace are stored at the end")] = "sqlite:///out/bidicharge.db",
) -> None:
    """Live mode: start the scenario's components on a wall (or accelerated) clock."""
    from datetime import datetime

    from bidicharge.runtime.runner import LiveRun, clock_for
    from bidicharge.runtime.scenario import parse_duration_s

    sc = _load(scenario, {})
    duration_s = None
    if for_ is not None:
        try:
            duration_s = parse_duration_s(for_)
        except ValueError as exc:
            err.print(f"[red]error:[/red] --for: {exc}")
            raise typer.Exit(2) from None
    if accelerate is not None and accelerate <= 0:
        err.print("[red]error:[/red] --accelerate must be > 0")
        raise typer.Exit(2)
    live = LiveRun(sc, clock_for(sc, accelerate))

    def on_step(n: int, t: float) -> None:
        if n % max(1, int(3600 / sc.step_s)) == 0:
            console.print(f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M} UTC  {n} steps, {len(live.trace)} messages")

    console.print(f"live: {sc.name} with {len(live.components)} components (Ctrl-C stops)")
    start_s = live.clock.now()
    try:
        asyncio.run(live.run(duration_s, on_step))
    except KeyboardInterrupt:
        pass
    console.print(f"stopped after {live.steps_done} steps, {len(live.trace)} trace records")
    from bidicharge.runtime.storage import Storage

    store = Storage(db)  # stored even after Ctrl-C: what was exchanged is not lost
    run_id = store.add_run(scenario=sc.name, mode="live", start_s=start_s, end_s=start_s + live.steps_done * sc.step_s, kpis={})
    store.add_trace(run_id, live.trace)
    store.dispose()
    console.print(f"run #{run_id} stored in {db} (see `bidicharge architecture --status --db {db}`)")


study_app = typer.Typer(help="Comparative studies")
app.add_typer(study_app, name="study")


@study_app.command("home")
def study_home(
    year: Annotated[bool, typer.Option("--year", help="a full year (2018) instead of --duration")] = False,
    duration: Annotated[str, typer.Option(help="span when not --year")] = "7d",
    start: Annotated[str, typer.Option(help="start (ISO 8601)")] = "2018-01-01T00:00:00+01:00",
    step: Annotated[str, typer.Option(help="study step")] = "15min",
    strategies: Annotated[str, typer.Option(help="comma-separated: none,evcc,rules,mpc,perfect,lp")] = "none,evcc,rules,mpc,perfect,lp",
    scenario: Annotated[str, typer.Option(help="the household scenario")] = "home_v2h",
    out: Annotated[Path, typer.Option(help="output folder")] = Path("out"),
    workers: Annotated[int, typer.Option(min=1, max=8, help="processes in parallel")] = 2,
) -> None:
    """The home under each HEMS strategy: cost, self-sufficiency, V2H, departures, cycles."""
    from bidicharge.runtime import home_study

    keys = [k.strip() for k in strategies.split(",") if k.strip()]
    bad = [k for k in keys if k not in home_study.STRATEGIES and k != "lp"]
    if bad or not keys:
        err.print(f"[red]error:[/red] --strategies: unknown {bad}; choose from {list(home_study.STRATEGIES)}")
        raise typer.Exit(2)
    path = str(resolve_scenario(scenario))
    overrides = {"start": start, "duration": "365d" if year else duration, "step": step, "trace": "off"}
    _load(path, overrides)  # validate before forking
    rows = home_study.compare(path, overrides=overrides, keys=[k for k in keys if k != "lp"], workers=workers)
    if "lp" in keys:
        rows.append(home_study.whole_span_lp(path, overrides=overrides))
    t = Table(title=f"{scenario}: {'2018, one year' if year else duration} at {step} steps")
    t.add_column("strategy")
    for _, head, _ in home_study.COLUMNS:
        t.add_column(head, justify="right")
    t.add_column("wall s", justify="right")
    for r in rows:
        t.add_row(r.label, *[home_study.cell(r, k, f) for k, _, f in home_study.COLUMNS], f"{r.wall_s:.1f}")
    console.print(t)
    by = {r.key: r for r in rows}
    for ref in ("lp", "perfect"):
        if "mpc" in by and ref in by:
            c, d = by["mpc"].kpis["energy_cost_EUR"], by[ref].kpis["energy_cost_EUR"]
            console.print(f"(c) / {by[ref].label}: cost ratio {c / d:.3f}" if d else f"{ref}: cost is zero")
    if "mpc" in by and "evcc" in by:
        c, b = by["mpc"].kpis["energy_cost_EUR"], by["evcc"].kpis["energy_cost_EUR"]
        console.print(f"(c) vs (b): {100 * (1 - c / b):.1f} % cheaper" if b else "")
    if "mpc" in by and by["mpc"].plan_median_s is not None:
        console.print(f"re-plan time: median {1000 * by['mpc'].plan_median_s:.1f} ms, p99 {1000 * (by['mpc'].plan_p99_s or 0):.1f} ms")
    report = home_study.write_report(rows, out / "home_study", f"{scenario}: HEMS strategies")
    console.print(f"report: {report}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
