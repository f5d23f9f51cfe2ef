"""The audit log: who changed what, and when. Every named operation that changes
personal data or the organisation calls `record` inside its own transaction, so the
change and its log line are written together or not at all."""

from __future__ import annotations

from typing import Any

from intro.tables import AuditLog


async def record(
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    **details: Any,
) -> None:
    await AuditLog.insert(
        AuditLog(
            actor=actor_id,
            action=action,
            object_type=object_type,
            object_id="" if object_id is None else str(object_id),
            details=details,
        )
    )
