"""The operator's overview: live decisions, refusal reasons, lag, dead letters, audit chains."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.console.access import page
from gateway.console.charts import OUTCOME_COLOURS, decisions_svg
from gateway.console.state import state_of
from gateway.console.users import Role, User
from gateway.operations.snapshot import ClusterSnapshot

__all__ = ["ROUTES"]

_KEEPALIVE_S = 15.0


def live_context(request: Request) -> dict[str, Any]:
    """What ``_live.html`` renders: the latest snapshot (or why there is none)."""
    live = state_of(request).live
    snapshot: ClusterSnapshot | None = live.snapshot
    return {
        "snap": snapshot,
        "error": live.error,
        "bootstrap": live.bootstrap,
        "chart": decisions_svg(snapshot.decisions) if snapshot else "",
        "agreements": _agreements(snapshot) if snapshot else [],
        "outcomes": _outcomes(snapshot) if snapshot else [],
        "lag_rows": _lag_rows(snapshot) if snapshot else [],
    }


@page(Role.OPERATOR)
async def overview(request: Request, user: User) -> Response:
    response: Response = state_of(request).render(
        request, "overview.html", user, live_context(request)
    )
    return response


@page(Role.OPERATOR)
async def events(request: Request, user: User) -> Response:
    """Server-sent events: the overview's live part, rendered, each time a snapshot is taken."""
    console = state_of(request)
    template = console.templates.get_template("_live.html")

    async def stream() -> AsyncIterator[str]:
        version = -1
        while not console.live.closed:
            newer = await console.live.newer_than(version, _KEEPALIVE_S)
            if await request.is_disconnected():
                return
            if newer == version:
                yield ": keep-alive\n\n"
                continue
            version = newer
            context = {"request": request, **live_context(request)}
            html = template.render(context)
            payload = {"version": version, "html": html}
            snapshot = console.live.snapshot
            if snapshot is not None:
                payload["taken_at"] = snapshot.taken_at.isoformat()
            yield f"event: snapshot\ndata: {json.dumps(payload)}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@page(Role.OPERATOR)
async def snapshot_json(request: Request, user: User) -> Response:
    live = state_of(request).live
    body = {"snapshot": live.snapshot.to_dict() if live.snapshot else None, "error": live.error}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _agreements(s: ClusterSnapshot) -> list[dict[str, Any]]:
    """Per agreement: outcome -> (last minute, last hour), in a fixed outcome order."""
    rows: dict[str, dict[str, tuple[int, int]]] = {}
    for d in s.decisions:
        rows.setdefault(d.agreement_id or "(input)", {})[d.outcome] = (d.last_minute, d.last_hour)
    return [{"id": agreement, "outcomes": outcomes} for agreement, outcomes in sorted(rows.items())]


def _outcomes(s: ClusterSnapshot) -> list[str]:
    """The outcomes the snapshot counts, in the chart's order."""
    seen = {d.outcome for d in s.decisions}
    return [o for o in OUTCOME_COLOURS if o in seen] + sorted(seen - set(OUTCOME_COLOURS))


def _lag_rows(s: ClusterSnapshot) -> list[dict[str, Any]]:
    """Per input topic and group: the lag of each partition."""
    rows: dict[tuple[str, str], dict[int, int]] = {}
    for p in s.inputs:
        for g in p.groups:
            rows.setdefault((p.topic, g.group), {})[p.partition] = g.lag
    return [
        {"topic": topic, "group": group, "lags": lags, "total": sum(lags.values())}
        for (topic, group), lags in rows.items()
    ]


ROUTES = [
    Route("/", overview),
    Route("/events", events),
    Route("/api/snapshot", snapshot_json),
]
