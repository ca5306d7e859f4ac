"""Tokens: revocation and expiry take effect on the next request; bad tokens are slowed per address."""

from __future__ import annotations

import datetime as dt

from printfarm.auth.rules import Role
from printfarm.auth.throttle import BadTokenLimiter
from printfarm.clock import FrozenClock

T0 = dt.datetime(2020, 4, 1, 8, 0, tzinfo=dt.UTC)


def test_a_revoked_token_is_refused_at_once_and_others_keep_working(configured_world) -> None:
    world = configured_world()
    world.token_for("viewer", Role.VIEWER)
    world.token_for("other", Role.VIEWER)
    viewer_id = world.ok("viewer", "GET", "/api/me")["token_id"]

    revoked = world.ok("admin", "POST", f"/api/tokens/{viewer_id}/revoke")

    assert revoked["revoked_at"] is not None
    response = world.call("viewer", "GET", "/api/sites")
    assert response.status_code == 401
    assert response.json() == {"error": "AuthError", "detail": f"token {viewer_id} was revoked"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert world.call("other", "GET", "/api/sites").status_code == 200
    again = world.ok("admin", "POST", f"/api/tokens/{viewer_id}/revoke")
    assert again["revoked_at"] == revoked["revoked_at"]  # revoking twice keeps the first time
    audit = [e for e in world.ok("admin", "GET", "/api/audit") if e["action"] == "token.revoke"]
    assert [e["object_id"] for e in audit] == [viewer_id]


def test_an_admin_may_revoke_its_own_token_and_is_then_locked_out(configured_world) -> None:
    world = configured_world()
    admin_id = world.ok("admin", "GET", "/api/me")["token_id"]

    world.ok("admin", "POST", f"/api/tokens/{admin_id}/revoke")

    assert world.call("admin", "GET", "/api/tokens").status_code == 401


def test_a_token_works_until_its_expiry_and_not_a_second_after(configured_world) -> None:
    clock = FrozenClock(T0)
    world = configured_world(clock=clock)
    created = world.ok("admin", "POST", "/api/tokens", json={"name": "temp", "role": "viewer", "expires_in_days": 2})
    world.tokens["temp"] = created["token"]
    assert created["expires_at"].startswith("2020-04-03T08:00:00")

    clock.advance(2 * 86400 - 1)
    assert world.call("temp", "GET", "/api/me").status_code == 200
    clock.advance(1)
    response = world.call("temp", "GET", "/api/me")

    assert response.status_code == 401
    assert response.json()["detail"] == f"token {created['id']} expired at 2020-04-03T08:00:00+00:00"
    assert world.call("admin", "GET", "/api/me").status_code == 200  # no expiry: never expires


def test_a_token_is_shown_once_and_stored_only_as_a_hash(configured_world) -> None:
    world = configured_world()
    created = world.ok("admin", "POST", "/api/tokens", json={"name": "x", "role": "viewer"})

    listed = world.ok("admin", "GET", "/api/tokens")

    assert created["token"].startswith("pf_") and len(created["token"]) > 40
    assert created["token"] not in str(listed)
    with world.services.db.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM api_tokens").fetchall()
    assert created["token"] not in str(rows)


def test_repeated_bad_tokens_get_429_but_a_good_token_from_the_same_address_still_works(configured_world) -> None:
    clock = FrozenClock(T0)
    world = configured_world(clock=clock, bad_token_max_failures=5, bad_token_window_seconds=60)
    bad = {"Authorization": "Bearer pf_guess"}

    statuses = [world.client.get("/api/sites", headers=bad).status_code for _ in range(8)]

    assert statuses == [401] * 5 + [429] * 3
    throttled = world.client.get("/api/sites", headers=bad)
    assert throttled.json()["error"] == "TooManyBadTokens"
    assert throttled.headers["Retry-After"] == "60"
    assert world.call("admin", "GET", "/api/sites").status_code == 200  # a good token is never locked out
    clock.advance(61)
    assert world.client.get("/api/sites", headers=bad).status_code == 401  # the window passed


def test_a_revoked_or_expired_token_counts_as_a_bad_one(configured_world) -> None:
    world = configured_world(bad_token_max_failures=2)
    world.token_for("viewer", Role.VIEWER)
    viewer_id = world.ok("viewer", "GET", "/api/me")["token_id"]
    world.ok("admin", "POST", f"/api/tokens/{viewer_id}/revoke")

    statuses = [world.call("viewer", "GET", "/api/me").status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


def test_the_limiter_counts_each_address_on_its_own() -> None:
    limiter = BadTokenLimiter(max_failures=2, window_seconds=10)

    assert limiter.failed("10.0.0.1", T0) is None
    assert limiter.failed("10.0.0.1", T0) is None
    tripped = limiter.failed("10.0.0.1", T0 + dt.timedelta(seconds=3))
    assert tripped is not None and tripped.is_new and tripped.retry_after_seconds == 7
    still = limiter.failed("10.0.0.1", T0 + dt.timedelta(seconds=4))
    assert still is not None and not still.is_new
    assert limiter.failed("10.0.0.2", T0 + dt.timedelta(seconds=4)) is None


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    limiter = BadTokenLimiter(max_failures=1, window_seconds=60, max_addresses=100)

    for n in range(10_000):
        limiter.failed(f"10.{n // 256 % 256}.{n % 256}.1", T0)

    assert limiter.addresses() == 100
