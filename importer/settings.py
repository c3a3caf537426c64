"""Credentials and endpoint from the environment (and a `.env` file in the working directory)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

PRODUCTION_BASE_URL = "https://applications.zoom.us/api/v1/lti/rich"


class Settings(BaseSettings):
    """LTI_KEY, LTI_SECRET, LTI_BASE_URL, IMPORTER_JOURNAL."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    lti_key: str | None = None
    lti_secret: SecretStr | None = None
    lti_base_url: str = PRODUCTION_BASE_URL
    importer_journal: Path | None = None


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"configuration: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def credentials(settings: Settings) -> tuple[str, str]:
    key = (settings.lti_key or "").strip()
    secret = settings.lti_secret.get_secret_value().strip() if settings.lti_secret else ""
    missing = [name for name, value in (("LTI_KEY", key), ("LTI_SECRET", secret)) if not value]
    if missing:
        raise ConfigError(
            f"no credentials: set {' and '.join(missing)} (LTI Pro's configuration page shows them) "
            "in the environment or in a .env file here; or try it out with --simulate")
    return key, secret


def check_base_url(url: str) -> str:
    """https anywhere; plain http only to this machine (the simulator)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base URL {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"base URL {url!r}: plain http is refused except to this machine; use https")
    return url.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_journal(settings: Settings) -> Path:
    if settings.importer_journal:
        return settings.importer_journal
    return Path(user_data_dir("importer", appauthor=False)) / "journal.sqlite3"


def key_hint(key: str) -> str:
    """The most of a key that may be shown."""
    return key[:4] + "..." if len(key) > 4 else "..."
