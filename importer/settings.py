"""Credentials and endpoint from the environment (and a `.env` file in the working directory)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .client import url_problem
from .errors import ConfigError
from .journal import named_journal, user_journal
from .options import ZOOM_API_URL, ZOOM_OAUTH_URL, Canvas, Zoom

PRODUCTION_BASE_URL = "https://applications.zoom.us/api/v1/lti/rich"


class Settings(BaseSettings):
    """LTI_KEY, LTI_SECRET, LTI_BASE_URL, IMPORTER_JOURNAL, CANVAS_URL, CANVAS_TOKEN, and the Zoom
    Server-to-Server OAuth app: ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET, ZOOM_API_URL,
    ZOOM_OAUTH_URL."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    lti_key: str | None = None
    lti_secret: SecretStr | None = None
    lti_base_url: str = PRODUCTION_BASE_URL
    importer_journal: Path | None = None
    canvas_url: str | None = None
    canvas_token: SecretStr | None = None
    zoom_account_id: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: SecretStr | None = None
    zoom_api_url: str = ZOOM_API_URL
    zoom_oauth_url: str = ZOOM_OAUTH_URL


def load_settings() -> Settings:
    try:
        settings = Settings()
    except UnicodeDecodeError:
        raise ConfigError("the .env file here is not UTF-8 text; save it again as UTF-8") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"configuration: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    settings.importer_journal = named_journal(settings.importer_journal)
    return settings


def credentials(settings: Settings) -> tuple[str, str]:
    key = (settings.lti_key or "").strip()
    secret = settings.lti_secret.get_secret_value().strip() if settings.lti_secret else ""
    missing = [name for name, value in (("LTI_KEY", key), ("LTI_SECRET", secret)) if not value]
    if missing:
        raise ConfigError(
            f"no credentials: set {' and '.join(missing)} (LTI Pro's configuration page shows them) "
            "in the environment or in a .env file here; or try it out with --simulate")
    return key, secret


def canvas_of(settings: Settings) -> Canvas | None:
    """The Canvas site to look courses up in: CANVAS_URL and CANVAS_TOKEN both, or neither."""
    url = (settings.canvas_url or "").strip()
    token = settings.canvas_token.get_secret_value().strip() if settings.canvas_token else ""
    if not url and not token:
        return None
    if not url or not token:
        missing = "CANVAS_URL" if not url else "CANVAS_TOKEN"
        raise ConfigError(f"{missing} is not set: Canvas lookups need CANVAS_URL and CANVAS_TOKEN both "
                          "(or neither, to fill in contextId yourself)")
    return Canvas(check_base_url(url, "CANVAS_URL"), token)


ZOOM_NAMES = ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET")


def zoom_of(settings: Settings) -> Zoom | None:
    """The Zoom REST app: ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET all, or none."""
    secret = settings.zoom_client_secret.get_secret_value().strip() if settings.zoom_client_secret else ""
    values = ((settings.zoom_account_id or "").strip(), (settings.zoom_client_id or "").strip(), secret)
    if not any(values):
        return None
    missing = [name for name, value in zip(ZOOM_NAMES, values, strict=True) if not value]
    if missing:
        raise ConfigError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: Zoom's REST API "
                          "needs ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET all (a Server-to-Server OAuth "
                          "app's), or none of them")
    return Zoom(values[0], values[1], values[2], api_url=check_base_url(settings.zoom_api_url, "ZOOM_API_URL"),
                oauth_url=check_base_url(settings.zoom_oauth_url, "ZOOM_OAUTH_URL"))


def check_base_url(url: str, name: str = "base URL") -> str:
    """https anywhere; plain http only to this machine (the simulator).

    Returned normalised (lower-case scheme and host, no default port, no trailing slash), so
    that one endpoint written two ways is one journal scope.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
        if host:
            host.encode("idna")
    except (ValueError, UnicodeError) as exc:
        raise ConfigError(f"{name} {url!r} is not a usable URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ConfigError(f"{name} {url!r} is not an http(s) URL")
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(f"{name} {url!r}: plain http is refused except to this machine; use https")
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, {"http": 80, "https": 443}[scheme]) else f"{shown_host}:{port}"
    normalised = f"{scheme}://{netloc}{parts.path}".rstrip("/")
    problem = url_problem(normalised)
    if problem:  # caught here, not as one failed or unknown row per request
        raise ConfigError(f"{name} {url!r} is not a usable URL ({problem})")
    return normalised


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_journal(settings: Settings) -> Path:
    return settings.importer_journal or user_journal()
