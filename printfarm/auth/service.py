"""API tokens: create, authenticate, revoke. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import logging
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, Role, require
from printfarm.auth.throttle import BadTokenLimiter
from printfarm.clock import Clock
from printfarm.db.tables import ApiToken, Hospital, Site
from printfarm.errors import AuthError, InputError, NotFound, TooManyBadTokens

log = logging.getLogger(__name__)

TOKEN_PREFIX = "pf_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, clock: Clock, limiter: BadTokenLimiter | None = None) -> None:
        self._clock = clock
        self._limiter = limiter or BadTokenLimiter()

    def has_tokens(self, session: Session) -> bool:
        return bool(session.scalar(select(func.count()).select_from(ApiToken)))

    def create(
        self,
        session: Session,
        actor: Actor,
        *,
        role: Role,
        name: str,
        site_id: int | None = None,
        expires_in_days: int | None = None,
        hospital_id: int | None = None,
    ) -> tuple[str, ApiToken]:
        """A new token; the clear text is returned once and never stored."""
        require(actor, Action.MANAGE_TOKENS)
        if role is Role.OPERATOR and site_id is None:
            raise InputError("an operator token needs a site (--site)")
        if role is not Role.OPERATOR and site_id is not None:
            raise InputError(f"role {role.value} is not bound to a site; drop the site")
        if site_id is not None and session.get(Site, site_id) is None:
            raise NotFound(f"site {site_id} does not exist")
        if role is Role.HOSPITAL and hospital_id is None:
            raise InputError("a hospital token needs a hospital (--hospital)")
        if role is not Role.HOSPITAL and hospital_id is not None:
            raise InputError(f"role {role.value} is not bound to a hospital; drop the hospital")
        if hospital_id is not None and session.get(Hospital, hospital_id) is None:
            raise NotFound(f"hospital {hospital_id} does not exist")
        if expires_in_days is not None and expires_in_days <= 0:
            raise InputError(f"expires_in_days must be positive (got {expires_in_days})")
        now = self._clock.now()
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            name=name,
            token_sha256=_digest(plain),
            role=role,
            site_id=site_id,
            hospital_id=hospital_id,
            created_at=now,
            expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
        )
        session.add(row)
        session.flush()
        record(session, actor, now, "token.create", "token", row.id, {"role": role.value, "site_id": site_id, "hospital_id": hospital_id})
        return plain, row

    def authenticate(self, session: Session, plain: str) -> Actor:
        """The actor a bearer token stands for; AuthError when it is unknown, revoked or expired."""
        row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(plain)))
        if row is None:
            raise AuthError("unknown token")
        if row.revoked_at is not None:
            raise AuthError(f"token {row.id} was revoked")
        if row.expires_at is not None and row.expires_at <= self._clock.now():
            raise AuthError(f"token {row.id} expired at {row.expires_at.isoformat()}")
        return Actor(
            role=row.role, token_id=row.id, site_id=row.site_id, label=f"token {row.id} ({row.name})",
            hospital_id=row.hospital_id,
        )

    def authenticate_from(self, session: Session, plain: str, address: str) -> Actor:
        """authenticate() for a request from a client address: a good token always passes; once the
        address has sent too many bad ones lately, a bad one raises TooManyBadTokens instead of AuthError."""
        try:
            return self.authenticate(session, plain)
        except AuthError as err:
            throttle = self._limiter.failed(address, self._clock.now())
            if throttle is None:
                raise
            if throttle.is_new:
                log.warning(
                    "client %s: more than %d bad tokens within %s; answering 429 until it stops",
                    address, self._limiter.max_failures, self._limiter.window,
                )
            raise TooManyBadTokens(
                f"client {address}: too many bad tokens lately ({err}); retry after "
                f"{throttle.retry_after_seconds:.0f} s",
                retry_after_seconds=throttle.retry_after_seconds,
            ) from err

    def revoke(self, session: Session, actor: Actor, token_id: int) -> ApiToken:
        require(actor, Action.MANAGE_TOKENS)
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"token {token_id} does not exist")
        if row.revoked_at is None:
            row.revoked_at = self._clock.now()
            record(session, actor, row.revoked_at, "token.revoke", "token", token_id)
        return row

    def list(self, session: Session, actor: Actor) -> builtins.list[ApiToken]:
        require(actor, Action.MANAGE_TOKENS)
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
