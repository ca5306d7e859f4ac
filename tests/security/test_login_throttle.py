"""The dashboard's sign-in form counts bad tokens like the API does, and a good token still signs in."""

from __future__ import annotations


def test_repeated_bad_sign_ins_are_slowed_but_a_good_token_passes(new_world):
    world = new_world()
    limit = world.services.settings.bad_token_max_failures
    statuses = [
        world.client.post("/login", data={"token": f"pf_wrong-{i}"}, follow_redirects=False).status_code
        for i in range(limit + 2)
    ]
    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429
    good = world.client.post("/login", data={"token": world.tokens["admin"]}, follow_redirects=False)
    assert good.status_code == 303
