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
