"""`importer doctor` tells what is wrong with the configuration and creates nothing."""

from __future__ import annotations

from click.testing import CliRunner

from importer.cli import cli

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
