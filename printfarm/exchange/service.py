"""Cooperation board use-cases: post offers and needs, list, close, turn capacity into printers."""

from __future__ import annotations

import builtins


from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.tables import ExchangePost, Printer, Site
from printfarm.errors import Conflict, InputError
from printfarm.events import PrinterEnabled, raise_event
from printfarm.exchange.rules import PostCategory, PostKind
from printfarm.exchange.schemas import PostClose, PostCreate
from printfarm.db.lookup import get_existing


class ExchangeService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def post(self, session: Session, actor: Actor, data: PostCreate) -> ExchangePost:
        """A member posts an offer or a need; an operator posts for its own site only."""
        require(actor, Action.POST_EXCHANGE, data.site_id)
        if data.site_id is not None:
            get_existing(session, Site, data.site_id, "site")
        if data.printer_ids is not None:
            if (data.kind, data.category) != (PostKind.OFFER, PostCategory.CAPACITY):
                raise InputError("printer_ids belong to capacity offers only")
            if data.site_id is None:
                raise InputError("a capacity offer of printers names the site that owns them (site_id)")
            self._site_printers(session, data.site_id, data.printer_ids)
        post = ExchangePost(**data.model_dump(), posted_by=actor.label, is_closed=False, created_at=self._clock.now())
        session.add(post)
        session.flush()
        record(session, actor, post.created_at, "exchange.post", "exchange_post", post.id, data.model_dump(mode="json"))
        return post

    def _site_printers(self, session: Session, site_id: int, printer_ids: builtins.list[int]) -> builtins.list[Printer]:
        printers = list(session.scalars(select(Printer).where(Printer.id.in_(printer_ids))))
        found = {p.id: p for p in printers}
        missing = sorted(set(printer_ids) - set(found))
        if missing:
            raise InputError(f"printers {missing} do not exist")
        elsewhere = sorted(p.id for p in printers if p.site_id != site_id)
        if elsewhere:
            raise InputError(f"printers {elsewhere} are not at site {site_id}")
        return printers

    def list(
        self, session: Session, actor: Actor, *, is_closed: bool | None = False, kind: PostKind | None = None,
        category: PostCategory | None = None,
    ) -> builtins.list[ExchangePost]:
        require(actor, Action.READ)
        query = select(ExchangePost).order_by(ExchangePost.id.desc())
        if is_closed is not None:
            query = query.where(ExchangePost.is_closed.is_(is_closed))
        if kind is not None:
            query = query.where(ExchangePost.kind == kind)
        if category is not None:
            query = query.where(ExchangePost.category == category)
        return list(session.scalars(query))

    def close(self, session: Session, actor: Actor, post_id: int, data: PostClose) -> ExchangePost:
        """A coordinator closes a post (matched, done or withdrawn)."""
        require(actor, Action.MANAGE_EXCHANGE)
        post = get_existing(session, ExchangePost, post_id, "exchange post")
        if post.is_closed:
            raise Conflict(f"exchange post {post_id} is already closed")
        post.is_closed = True
        post.closed_note = data.note
        post.closed_at = self._clock.now()
        record(session, actor, post.closed_at, "exchange.close", "exchange_post", post_id, data.model_dump(mode="json"))
        return post

    def make_available(self, session: Session, actor: Actor, post_id: int) -> ExchangePost:
        """Turn a capacity offer into availability: its printers are enabled for dispatch, the post closes."""
        require(actor, Action.MANAGE_EXCHANGE)
        post = get_existing(session, ExchangePost, post_id, "exchange post")
        if post.is_closed:
            raise Conflict(f"exchange post {post_id} is already closed")
        if post.category is not PostCategory.CAPACITY or post.kind is not PostKind.OFFER or not post.printer_ids:
            raise Conflict(f"exchange post {post_id} is not a capacity offer naming printers")
        assert post.site_id is not None  # post() refuses printer_ids without a site
        now = self._clock.now()
        for printer in self._site_printers(session, post.site_id, post.printer_ids):
            if not printer.is_enabled:
                printer.is_enabled = True
                printer.disabled_reason = None
                printer.consecutive_failures = 0
                record(session, actor, now, "printer.update", "printer", printer.id,
                       {"is_enabled": True, "exchange_post": post_id})
                raise_event(session, PrinterEnabled(now, printer.id))
        post.is_closed = True
        post.closed_note = f"printers {post.printer_ids} made available for dispatch"
        post.closed_at = now
        record(session, actor, now, "exchange.make_available", "exchange_post", post_id, {"printer_ids": post.printer_ids})
        return post
