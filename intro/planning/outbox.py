"""The notice outbox as admins and coordinators see it (issue 17): queued, sent and
failed notices, and resending one.

A notice is in exactly one state, decided by `status_of` from its row: sent
(`sent_at`), failed (`failed_at`: the sender gave up after `notices.MAX_ATTEMPTS`
attempts) or waiting. Who sees which notices is `access.notices_scope`.
"""

from __future__ import annotations

from enum import StrEnum

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid
from intro.i18n import _
from intro.tables import Notice

PAGE_LIMIT = 200


class OutboxStatus(StrEnum):
    waiting = "waiting"
    sent = "sent"
    failed = "failed"


STATUS_NAMES = {
    OutboxStatus.waiting: _("Venter"),
    OutboxStatus.sent: _("Sendt"),
    OutboxStatus.failed: _("Opgivet"),
}


def status_of(notice: dict) -> OutboxStatus:
    """The one state of a notice row (needs sent_at and failed_at)."""
    if notice["sent_at"] is not None:
        return OutboxStatus.sent
    if notice["failed_at"] is not None:
        return OutboxStatus.failed
    return OutboxStatus.waiting


def _status_where(status: OutboxStatus):
    if status is OutboxStatus.sent:
        return Notice.sent_at.is_not_null()
    if status is OutboxStatus.failed:
        return Notice.sent_at.is_null() & Notice.failed_at.is_not_null()
    return Notice.sent_at.is_null() & Notice.failed_at.is_null()


def _scoped(query, partnership_ids: set[int] | None):
    """`partnership_ids` None: every notice (admin); else those about course days of
    cohorts in these partnerships."""
    if partnership_ids is None:
        return query
    return query.where(Notice.session.cohort.partnership.is_in(sorted(partnership_ids) or [0]))


async def counts(partnership_ids: set[int] | None) -> dict[str, int]:
    """How many notices in each state, within the scope."""
    return {
        status.value: await _scoped(Notice.count(), partnership_ids).where(_status_where(status))
        for status in OutboxStatus
    }


async def list_notices(partnership_ids: set[int] | None, status: OutboxStatus) -> list[dict]:
    """The newest notices (at most PAGE_LIMIT) in one state, within the scope."""
    query = Notice.select(
        Notice.id, Notice.email, Notice.subject, Notice.kind, Notice.created_at, Notice.sent_at,
        Notice.failed_at, Notice.attempts, Notice.next_attempt_at, Notice.last_error,
        Notice.recipient.full_name.as_alias("recipient_name"),
        Notice.session.cohort.name.as_alias("cohort_name"),
    )
    rows = await _scoped(query, partnership_ids).where(_status_where(status)).order_by(
        Notice.created_at, ascending=False
    ).order_by(Notice.id, ascending=False).limit(PAGE_LIMIT)
    for row in rows:
        row["status"] = status_of(row)
    return rows


async def notice_in_scope(partnership_ids: set[int] | None, notice_id: int) -> dict | None:
    query = Notice.select(Notice.id, Notice.sent_at, Notice.failed_at, Notice.attempts, Notice.email)
    return await _scoped(query, partnership_ids).where(Notice.id == notice_id).first()


async def resend(actor_id: int, notice: dict) -> None:
    """Queue a waiting or failed notice to be sent on the sender's next run, with a fresh
    count of attempts (so a given-up notice gets MAX_ATTEMPTS new tries). A sent
    notice is not sent twice: Invalid. Audited with the attempts it had."""
    if notice["sent_at"] is not None:
        raise Invalid({"notice": _("Beskeden er allerede sendt.")})
    async with write_transaction(Notice._meta.db):
        updated = await Notice.update(
            {Notice.failed_at: None, Notice.attempts: 0, Notice.next_attempt_at: clock.now()}
        ).where((Notice.id == notice["id"]) & Notice.sent_at.is_null()).returning(Notice.id)
        if not updated:
            raise Invalid({"notice": _("Beskeden er allerede sendt.")})
        await audit.record(
            actor_id, "notice.resend", "notice", notice["id"],
            attempts=notice["attempts"], was_failed=notice["failed_at"] is not None,
        )
