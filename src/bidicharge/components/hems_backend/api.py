"""I-07: the HEMS app's REST API (FastAPI; OpenAPI at /openapi.json, docs at /docs).

| method | path | what |
|---|---|---|
| GET | /v1/sites | sites known to the backend |
| GET | /v1/sites/{site}/flows | the latest state: powers, SoCs, price, decision, faults |
| GET | /v1/sites/{site}/history?from_s=&to_s=&limit= | states in a time window |
| GET | /v1/sites/{site}/plan | the HEMS's current plan |
| GET/PUT | /v1/sites/{site}/settings | the owner's settings; PUT validates every field and sends them to the HEMS |
| GET | /v1/sites/{site}/events | faults and recoveries reported by the HEMS |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, HTTPException, Path, Query

from bidicharge.components.hems_backend.store import HemsStore
from bidicharge.components.interfaces.i06_hems_backend import HemsEvent, HemsPlan, HemsSettings, HemsState

SITE = Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the HEMS's site id")


def create_app(store: HemsStore, publish_settings: Callable[[str, HemsSettings], Awaitable[None]]) -> FastAPI:
    app = FastAPI(title="bidicharge HEMS backend (I-07)", version="1.0.0")

    @app.get("/v1/sites")
    def sites() -> list[str]:
        return store.sites()

    @app.get("/v1/sites/{site}/flows")
    def flows(site: str = SITE) -> HemsState:
        state = store.latest_state(site)
        if state is None:
            raise HTTPException(404, f"no state received from site {site!r} yet")
        return state

    @app.get("/v1/sites/{site}/history")
    def history(
        site: str = SITE,
        from_s: float = Query(0.0, description="epoch seconds, inclusive"),
        to_s: float = Query(4.1e9, description="epoch seconds, exclusive"),
        limit: int = Query(10_000, ge=1, le=100_000),
    ) -> list[HemsState]:
        if to_s <= from_s:
            raise HTTPException(422, f"to_s ({to_s}) must be after from_s ({from_s})")
        return store.history(site, from_s, to_s, limit)

    @app.get("/v1/sites/{site}/plan")
    def plan(site: str = SITE) -> HemsPlan:
        p = store.plan(site)
        if p is None:
            raise HTTPException(404, f"no plan received from site {site!r} yet")
        return p

    @app.get("/v1/sites/{site}/settings")
    def get_settings(site: str = SITE) -> HemsSettings:
        return store.settings(site) or HemsSettings()

    @app.put("/v1/sites/{site}/settings")
    async def put_settings(settings: HemsSettings, site: str = SITE) -> HemsSettings:
        store.put_settings(site, settings)
        try:
            await publish_settings(site, settings)
        except TimeoutError:
            raise HTTPException(503, "settings stored, but the broker is unreachable: they will reach the HEMS "
                                     "when it reconnects (retained)") from None
        return settings

    @app.get("/v1/sites/{site}/events")
    def events(site: str = SITE, limit: int = Query(100, ge=1, le=10_000)) -> list[HemsEvent]:
        return store.events(site, limit)

    return app
