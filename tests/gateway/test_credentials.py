"""Plate credentials: one plate, one G-code, until they expire; anything else is refused saying why."""

from __future__ import annotations

import pytest

from printfarm.adapters.gateway.credentials import CredentialRefused, PlateCredentials

SHA = "a" * 64


def test_a_credential_opens_its_plate_until_it_expires() -> None:
    credentials = PlateCredentials("secret")
    token = credentials.issue("pf-1-rc3.gcode", SHA, expires=1000)
    assert credentials.verify(token, "pf-1-rc3.gcode", now=999) == SHA
    with pytest.raises(CredentialRefused, match=r"the plate credential for 'pf-1-rc3.gcode' expired 5 s ago"):
        credentials.verify(token, "pf-1-rc3.gcode", now=1005)


@pytest.mark.parametrize("change", ["another plate", "another sha", "later expiry", "another key", "garbage"])
def test_a_credential_for_another_plate_or_altered_is_refused(change: str) -> None:
    credentials = PlateCredentials("secret")
    token = credentials.issue("pf-1-rc3.gcode", SHA, expires=1000)
    file_name = "pf-1-rc3.gcode"
    expires, sha, signature = token.split(".")
    if change == "another plate":
        file_name = "pf-2-rc3.gcode"
    elif change == "another sha":
        token = f"{expires}.{'b' * 64}.{signature}"
    elif change == "later expiry":
        token = f"99999.{sha}.{signature}"
    elif change == "another key":
        credentials = PlateCredentials("other secret")
    else:
        token = "not-a-credential"
    expected = "malformed" if change == "garbage" else f"not valid for {file_name!r}"
    with pytest.raises(CredentialRefused, match=expected):
        credentials.verify(token, file_name, now=10)
