"""The notifications page of the dashboard: each role sets the channels and delays the API lets it set,
never sees a URL back, and a refusal shows its reason and changes nothing."""

from __future__ import annotations

import html
from typing import Any

import pytest
from support.world import World
from web.test_forms import get, post, redirected_to

PAGE = "/setup/notifications"
SECRET = "mailto://ops:pa55word@smtp.acme.test?to=workshop@acme.test"


def snapshot(world: World) -> dict[str, Any]:
    """Everything a refused notification form could have changed."""
    return {
        "channels": world.ok("admin", "GET", "/api/notifications/channels"),
        "sites": [world.ok("admin", "GET", f"/api/notifications/sites/{world.ids[s]}") for s in ("acme", "uni")],
        "audit": world.ok("admin", "GET", "/api/audit", params={"limit": 1000}),
    }


def ids(world: World, text: str) -> str:
    for placeholder, key in (("ACME", "acme"), ("UNI", "uni"), ("HOSPITAL", "hospital")):
        text = text.replace(placeholder, str(world.ids[key]))
    return text


def add_channel(world: World, who: str, **fields: str) -> Any:
    return post(world, who, f"{PAGE}/channels", {k: ids(world, v) for k, v in fields.items()})


def test_an_operator_adds_its_sites_channel_and_delays_and_never_sees_the_url_again(world: World) -> None:
    acme = world.ids["acme"]
    done = add_channel(world, "operator_acme", url=SECRET, audience="site", site_id="ACME", label="workshop")
    assert redirected_to(done) == f"{PAGE}?done=channel-added"
    page = get(world, "operator_acme", f"{PAGE}?done=channel-added")
    assert page.status_code == 200
    assert "mailto://smtp.acme.test" in page.text and "Channel added" in page.text
    assert "pa55word" not in page.text and "workshop@acme.test" not in page.text and "ops:" not in page.text
    [channel] = world.ok("operator_acme", "GET", "/api/notifications/channels")
    assert (channel["audience"], channel["site_id"], channel["label"]) == ("site", acme, "workshop")

    saved = post(world, "operator_acme", f"{PAGE}/sites", {"site_id": str(acme), "bed_wait_delay_seconds": "120",
                                                            "bed_reminder_seconds": "900", "bed_reminders": "2"})
    assert redirected_to(saved) == f"{PAGE}?done=site-settings"
    assert world.ok("operator_acme", "GET", f"/api/notifications/sites/{acme}") == {
        "site_id": acme, "bed_wait_delay_seconds": 120, "bed_reminder_seconds": 900, "bed_reminders": 2}

    removed = post(world, "operator_acme", f"{PAGE}/channels/{channel['id']}/remove")
    assert redirected_to(removed) == f"{PAGE}?done=channel-removed"
    assert world.ok("operator_acme", "GET", "/api/notifications/channels") == []


def test_each_role_is_offered_what_it_may_set(world: World) -> None:
    acme, uni, hospital = world.ids["acme"], world.ids["uni"], world.ids["hospital"]
    for who, audience, target in (("coordinator", "coordinators", ""), ("hospital", "hospital", "HOSPITAL"),
                                  ("operator_uni", "site", "UNI")):
        key = {"site": "site_id", "hospital": "hospital_id"}.get(audience, "site_id")
        done = add_channel(world, who, url=f"json://hooks.test/{who}", audience=audience, **({key: target} if target else {}))
        assert redirected_to(done) == f"{PAGE}?done=channel-added"
    pages = {who: get(world, who, PAGE).text for who in ("operator_acme", "hospital", "coordinator", "admin")}
    acme_page = pages["operator_acme"]
    assert f'<option value="{acme}"' in acme_page and f'<option value="{uni}"' not in acme_page
    assert 'value="coordinators"' not in acme_page and 'value="hospital"' not in acme_page
    assert "No channel yet" in acme_page and "hooks.test" not in acme_page  # uni's and the others' are not its own
    assert 'value="hospital"' in pages["hospital"] and 'value="site"' not in pages["hospital"]
    assert pages["hospital"].count("data-channel=") == 1 and 'id="site-settings-form"' not in pages["hospital"]
    for who in ("coordinator", "admin"):
        assert pages[who].count("data-channel=") == 3 and 'value="coordinators"' in pages[who]
        assert f'<option value="{hospital}"' in pages[who] and pages[who].count('<tr data-site=') == 2
    assert all('href="/setup/notifications"' in get(world, who, "/setup").text
               for who in ("operator_acme", "hospital", "coordinator"))
    assert 'href="/setup"' in get(world, "hospital", "/").text  # the nav leads a hospital to its channels


REFUSED = [
    ("operator for another site", "operator_acme", "/channels",
     {"url": "json://h.test/x", "audience": "site", "site_id": "UNI"},
     "operator of site ACME may not manage notifications of site UNI"),
    ("operator for the coordinators", "operator_acme", "/channels", {"url": "json://h.test/x", "audience": "coordinators"},
     "operator of site ACME may not manage notifications of the coordinators audience"),
    ("hospital for a site", "hospital", "/channels", {"url": "json://h.test/x", "audience": "site", "site_id": "ACME"},
     "hospital HOSPITAL's token may not manage notifications of the site audience"),
    ("viewer adds a channel", "viewer", "/channels", {"url": "json://h.test/x", "audience": "coordinators"},
     "role viewer may not manage notifications"),
    ("operator sets another site's delays", "operator_uni", "/sites",
     {"site_id": "ACME", "bed_wait_delay_seconds": "60", "bed_reminder_seconds": "600", "bed_reminders": "1"},
     "operator of site UNI may not manage notifications of site ACME"),
    ("operator removes another site's channel", "operator_uni", "/channels/CHANNEL/remove", {},
     "operator of site UNI may not manage notifications of site ACME"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_refused_role_gets_the_403_page_and_nothing_changes(world: World, case: tuple[Any, ...]) -> None:
    _, who, path, data, reason = case
    channel = world.ok("admin", "POST", "/api/notifications/channels",
                       json={"audience": "site", "site_id": world.ids["acme"], "url": "json://h.test/acme"})
    path = path.replace("CHANNEL", str(channel["id"]))
    before = snapshot(world)
    response = post(world, who, PAGE + path, {k: ids(world, v) for k, v in data.items()})
    assert response.status_code == 403, response.text
    assert ids(world, reason) in html.unescape(response.text) and "<form" not in response.text.split("</header>")[-1]
    assert snapshot(world) == before


def test_the_page_is_refused_to_a_viewer(world: World) -> None:
    response = get(world, "viewer", PAGE)
    assert response.status_code == 403
    assert "role viewer may not manage notifications" in html.unescape(response.text)


BAD = [
    ("not an Apprise URL", "/channels", {"url": "no-scheme-secret-4711", "audience": "coordinators"}, 422,
     "channel URL (no scheme): not an Apprise URL this server can send to"),
    ("site channel without its site", "/channels", {"url": "json://h.test/x", "audience": "site"}, 422,
     "audience site: give site_id alone"),
    ("unknown site", "/channels", {"url": "json://h.test/x", "audience": "site", "site_id": "999"}, 404, "site 999"),
    ("reminders too close", "/sites",
     {"site_id": "ACME", "bed_wait_delay_seconds": "60", "bed_reminder_seconds": "10", "bed_reminders": "1"}, 422,
     "bed_reminder_seconds: Input should be greater than or equal to 60"),
    ("delay not a number", "/sites",
     {"site_id": "ACME", "bed_wait_delay_seconds": "ten", "bed_reminder_seconds": "600", "bed_reminders": "1"}, 422,
     "bed_wait_delay_seconds: Input should be a valid integer"),
    ("no site chosen", "/sites", {"bed_wait_delay_seconds": "60", "bed_reminder_seconds": "600", "bed_reminders": "1"},
     422, "site_id must be a whole number (got '')"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_gets_the_form_again_with_the_reason_and_never_the_url(world: World, case: tuple[Any, ...]) -> None:
    _, path, data, status, reason = case
    before = snapshot(world)
    response = post(world, "coordinator", PAGE + path, {k: ids(world, v) for k, v in data.items()})
    assert response.status_code == status, response.text
    assert 'id="form-error"' in response.text and reason in html.unescape(response.text), response.text
    assert 'id="channel-form"' in response.text and "no-scheme-secret-4711" not in response.text
    assert snapshot(world) == before
