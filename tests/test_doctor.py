"""`importer doctor` tells what is wrong with the configuration and creates nothing."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

import importer.doctor
from importer.cli import cli
from importer.zoom import ZoomClient

from support import KEY, SECRET


def doctor(tmp_path, server, key=KEY, secret=SECRET):
    env = {"LTI_KEY": key, "LTI_SECRET": secret, "LTI_BASE_URL": server.base_url}
    return CliRunner().invoke(cli, ["doctor", "--journal", str(tmp_path / "j.sqlite3")], env=env)


def test_doctor_passes_with_good_configuration_and_creates_nothing(sim, tmp_path):
    result = doctor(tmp_path, sim)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.splitlines()] == [
        "ok   credentials", "ok   base URL", "ok   server reachable", "ok   signature", "ok   clock", "ok   journal"]
    assert sim.state.snapshot()["meetings"] == []
    assert SECRET not in result.output


def test_doctor_names_a_wrong_secret(sim, tmp_path):
    result = doctor(tmp_path, sim, secret="not-the-secret")
    assert result.exit_code == 1
    assert "FAIL signature: the server refused the signature" in result.output


def test_doctor_names_an_unreachable_server(tmp_path):
    class Gone:
        base_url = "http://127.0.0.1:9/api/v1/lti/rich"  # discard port: nothing listens
    result = doctor(tmp_path, Gone())
    assert result.exit_code == 1
    assert "FAIL server reachable" in result.output


def test_doctor_names_missing_credentials(sim, tmp_path):
    result = doctor(tmp_path, sim, key="", secret="")
    assert result.exit_code == 1
    assert "FAIL credentials: no credentials: set LTI_KEY and LTI_SECRET" in result.output


# --- the Zoom app (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET) --------------------------

ZOOM_SECRET = "zoom-secret-for-doctor-4c2b"
ZOOM_TOKEN = "zoom-access-token-for-doctor-8e1f"
CLASSIC = "meeting:read:admin meeting:write:admin"
GRANULAR = ("meeting:read:list_meetings:admin meeting:read:meeting:admin meeting:update:meeting:admin "
            "meeting:delete:meeting:admin")


def fake_zoom(monkeypatch, scope=CLASSIC, refuse=False):
    """Zoom's token endpoint behind the ZoomClient doctor makes; returns the requests it saw."""
    seen = []

    def handler(request):
        seen.append(request)
        if refuse:
            return httpx.Response(401, json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        return httpx.Response(200, json={"access_token": ZOOM_TOKEN, "token_type": "bearer", "expires_in": 3599,
                                         "scope": scope})

    monkeypatch.setattr(importer.doctor, "ZoomClient",
                        lambda zoom: ZoomClient(zoom, transport=httpx.MockTransport(handler)))
    return seen


def doctor_with_zoom(tmp_path, server, **zoom):
    env = {"LTI_KEY": KEY, "LTI_SECRET": SECRET, "LTI_BASE_URL": server.base_url, "ZOOM_ACCOUNT_ID": "acct-5",
           "ZOOM_CLIENT_ID": "client-5", "ZOOM_CLIENT_SECRET": ZOOM_SECRET, **zoom}
    return CliRunner().invoke(cli, ["doctor", "--journal", str(tmp_path / "j.sqlite3")], env=env)


def zoom_lines(result):
    return [line for line in result.output.splitlines() if " Zoom " in line]


@pytest.mark.parametrize("scope", [CLASSIC, GRANULAR, "meeting:read:meeting:admin meeting:write:meeting:admin"])
def test_doctor_checks_the_zoom_token_and_its_scopes_and_changes_nothing(sim, tmp_path, monkeypatch, scope):
    seen = fake_zoom(monkeypatch, scope)
    result = doctor_with_zoom(tmp_path, sim)

    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.splitlines()] == [
        "ok   credentials", "ok   base URL", "ok   server reachable", "ok   signature", "ok   clock",
        "ok   Zoom token", "ok   Zoom scopes", "ok   journal"]
    assert "ok   Zoom token: issued to client client-5 of account acct-5, valid for 60 min" in result.output
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/oauth/token")]  # nothing else is asked
    assert ZOOM_SECRET not in result.output and ZOOM_TOKEN not in result.output


@pytest.mark.parametrize(("scope", "lacking"), [
    ("meeting:read:admin", "lacks meeting:write:admin or granular meeting:update:... and meeting:delete:..."),
    ("meeting:write:admin", "lacks meeting:read:admin or a granular meeting:read:..."),
    ("meeting:read:meeting:admin meeting:update:meeting:admin", "lacks meeting:delete:... (to delete meetings)"),
    ("user:read:admin", "lacks meeting:read:admin or a granular meeting:read:... (to read meetings), "
                        "meeting:write:admin"),
    ("", "Zoom's token names no scopes"),
])
def test_doctor_names_the_zoom_scopes_that_are_missing(sim, tmp_path, monkeypatch, scope, lacking):
    fake_zoom(monkeypatch, scope)
    result = doctor_with_zoom(tmp_path, sim)

    assert result.exit_code == 1
    lines = zoom_lines(result)
    assert lines[0].startswith("ok   Zoom token") and lines[1].startswith("FAIL Zoom scopes: ")
    assert lacking in lines[1]


def test_doctor_names_refused_zoom_credentials_without_the_secret(sim, tmp_path, monkeypatch):
    fake_zoom(monkeypatch, refuse=True)
    result = doctor_with_zoom(tmp_path, sim)

    assert result.exit_code == 1
    assert zoom_lines(result) == [
        "FAIL Zoom token: Zoom: POST /oauth/token: Zoom refused the app's credentials (HTTP 401, code invalid_client: "
        "Invalid client_id or client_secret): check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (the "
        "Server-to-Server OAuth app's App Credentials in the Zoom App Marketplace)"]
    assert ZOOM_SECRET not in result.output
    assert "ok   journal" in result.output  # the other checks still ran


def test_doctor_names_the_zoom_settings_that_are_missing(sim, tmp_path, monkeypatch):
    seen = fake_zoom(monkeypatch)
    result = doctor_with_zoom(tmp_path, sim, ZOOM_CLIENT_ID="", ZOOM_CLIENT_SECRET="")

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(zoom_lines(result)) == 1
    assert zoom_lines(result)[0].startswith("FAIL Zoom token: ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are not set")
    assert seen == []


def test_doctor_has_no_zoom_lines_without_zoom_settings(sim, tmp_path, monkeypatch):
    seen = fake_zoom(monkeypatch)
    result = doctor_with_zoom(tmp_path, sim, ZOOM_ACCOUNT_ID=None, ZOOM_CLIENT_ID=None, ZOOM_CLIENT_SECRET=None)

    assert result.exit_code == 0, result.output
    assert zoom_lines(result) == [] and seen == []
