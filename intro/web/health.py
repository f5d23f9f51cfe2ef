"""/healthz: for load balancers and monitoring. Says whether the database answers."""

from __future__ import annotations

from litestar import get
from litestar.response import Response

from intro.tables import Municipality


@get("/healthz", opt={"public": True}, name="healthz", cache=False)
async def healthz() -> Response:
    try:
        await Municipality.select(Municipality.id).limit(1)
    except Exception:  # the point is to report, not to raise
        return Response({"status": "error", "database": "unavailable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})


@get("/livez", opt={"public": True}, name="livez", cache=False, media_type="text/plain", sync_to_thread=False)
def livez() -> str:
    """Liveness: the process answers, without touching the database (a restart would not
    fix a database that is down). Also the bare route the benchmarks compare pages with."""
    return "ok"
