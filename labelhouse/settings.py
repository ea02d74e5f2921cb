"""Settings: one frozen object built at startup from flags and ``LABELHOUSE_*`` variables.

Nothing reads the environment at import time; the edges build a ``Settings`` and pass it down.
Every setting is listed in ``SETTINGS`` with its documentation; docs/settings.md is generated
from it and a test fails when the two drift.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labelhouse.core.errors import Invalid
from labelhouse.security.addresses import AllowList
from labelhouse.security.claim_roles import parse_rules

# name -> (environment variable, default, description)
SETTINGS: dict[str, tuple[str, str, str]] = {
    "data_dir": (
        "LABELHOUSE_DATA",
        "./labelhouse-data",
        "Folder for the SQLite database, blobs, uploads and exports.",
    ),
    "database_url": (
        "LABELHOUSE_DATABASE_URL",
        "",
        "SQLAlchemy URL of the database; empty means SQLite in the data folder. Use postgresql://user@host/db (psycopg 3) for PostgreSQL.",
    ),
    "host": ("LABELHOUSE_HOST", "127.0.0.1", "Address `serve` listens on."),
    "port": ("LABELHOUSE_PORT", "8400", "Port `serve` listens on."),
    "mode": (
        "LABELHOUSE_MODE",
        "development",
        "`development` or `production`; production refuses unsafe settings (listening beyond loopback without `LABELHOUSE_TRUSTED_PROXY` or TLS terminator is allowed; SQLite `synchronous=OFF` is not).",
    ),
    "sqlite_synchronous": (
        "LABELHOUSE_SQLITE_SYNCHRONOUS",
        "NORMAL",
        "SQLite `PRAGMA synchronous`: NORMAL survives a killed process; FULL also survives a power cut, at some write speed.",
    ),
    "max_body_mb": ("LABELHOUSE_MAX_BODY_MB", "512", "Largest request body accepted, in MiB (imports)."),
    "inline_import_mb": (
        "LABELHOUSE_INLINE_IMPORT_MB",
        "4",
        "Item imports up to this size are written during the request (201 with counts); larger ones become a background job (202).",
    ),
    "job_threads": (
        "LABELHOUSE_JOB_THREADS",
        "1",
        "Background job threads inside `serve` (0: leave jobs to `labelhouse worker`).",
    ),
    "workers": (
        "LABELHOUSE_WORKERS",
        "1",
        "HTTP worker processes for `serve` (PostgreSQL only; SQLite uses one process).",
    ),
    "hot_threads": (
        "LABELHOUSE_HOT_THREADS",
        "0",
        "PostgreSQL only: threads that run the labeling loop's next and submit calls (0: three per CPU, at least 6, at most the connection pool's 40). Calls beyond them wait in line, where a next goes before every submit, instead of all contending for the CPU at once.",
    ),
    "log_level": ("LABELHOUSE_LOG_LEVEL", "warning", "Server log level (production refuses `debug`)."),
    "outbound_allow": (
        "LABELHOUSE_OUTBOUND_ALLOW",
        "",
        "Internal hosts and networks the server may fetch from on purpose (URL imports), comma-separated host names and addresses/CIDRs, e.g. `cdn.corp, 10.0.5.0/24`. Everything not public (loopback, private, link-local, CGNAT, metadata) is refused unless listed here; production refuses ranges wider than /8 (IPv6: /32) or holding a cloud metadata address.",
    ),
    "outbound_max_mb": (
        "LABELHOUSE_OUTBOUND_MAX_MB",
        "50",
        "Largest file fetched from a URL, in MiB; reading stops one byte past it.",
    ),
    "outbound_timeout_s": (
        "LABELHOUSE_OUTBOUND_TIMEOUT_S",
        "30",
        "Most seconds one URL fetch may take, redirects included (a silent server is dropped after 10 s).",
    ),
    "outbound_https_only": (
        "LABELHOUSE_OUTBOUND_HTTPS_ONLY",
        "false",
        "`true`: URL imports accept only https:// URLs (redirects included).",
    ),
    "rate_limit": (
        "LABELHOUSE_RATE_LIMIT",
        "100",
        "Requests a second each API token or browser session may make on average (bursts of ten seconds' worth); past it the answer is 429 with Retry-After. Calls without a credential share one budget per client address. 0 turns the limit off.",
    ),
    "workspace_quota_mb": (
        "LABELHOUSE_WORKSPACE_QUOTA_MB",
        "0",
        "Most MiB of stored files (item images, audio, ...) one workspace may hold; an import past it is refused with 413 and keeps what it wrote before. Counted on stored bytes, each distinct file once. 0: no quota.",
    ),
    "oidc_issuer": (
        "LABELHOUSE_OIDC_ISSUER",
        "",
        "Single sign-on: the OpenID Connect issuer URL, exactly as the provider's discovery document names it (e.g. `https://login.corp/realms/main`). Empty: no single sign-on. Production requires https.",
    ),
    "oidc_client_id": (
        "LABELHOUSE_OIDC_CLIENT_ID",
        "",
        "Single sign-on: this server's client id at the provider.",
    ),
    "oidc_client_secret": (
        "LABELHOUSE_OIDC_CLIENT_SECRET",
        "",
        "Single sign-on: the client secret (sent to the token endpoint only; never logged or returned). Empty for a public client (PKCE only).",
    ),
    "oidc_redirect_base": (
        "LABELHOUSE_OIDC_REDIRECT_BASE",
        "",
        "Single sign-on: the server's public base URL (e.g. `https://label.corp`); the provider sends browsers back to `<base>/api/v1/auth/oidc/callback`, which must be registered there. Never taken from the request's Host header.",
    ),
    "oidc_name": (
        "LABELHOUSE_OIDC_NAME",
        "SSO",
        'Single sign-on: the provider\'s name on the login page ("Sign in with ...").',
    ),
    "oidc_hosts": (
        "LABELHOUSE_OIDC_HOSTS",
        "",
        "Single sign-on: the hosts the server may contact for it (discovery, keys, tokens), comma-separated host names or addresses; the issuer's host must be listed. A URL of any other host (in the discovery document, say) is refused before connecting.",
    ),
    "oidc_scopes": (
        "LABELHOUSE_OIDC_SCOPES",
        "openid email profile",
        "Single sign-on: the scopes asked for.",
    ),
    "oidc_groups_claim": (
        "LABELHOUSE_OIDC_GROUPS_CLAIM",
        "groups",
        "Single sign-on: the ID token claim holding the user's groups (a list of strings).",
    ),
    "oidc_roles": (
        "LABELHOUSE_OIDC_ROLES",
        "",
        'Single sign-on: JSON object from a group to its grants, e.g. `{"labelers": "acme:annotator", "leads": ["acme:manager"]}`. A user gets in each workspace the highest role their groups are granted; one with no matching group is refused (no default role). In the workspaces named here, membership follows these rules at every sign-in.',
    ),
    "oidc_link_email": (
        "LABELHOUSE_OIDC_LINK_EMAIL",
        "false",
        "Single sign-on: `true` links a first sign-in to an existing local account with the same e-mail, but only when the provider marks the e-mail verified (`email_verified: true`). `false`: such a sign-in is refused.",
    ),
    "master_key": (
        "LABELHOUSE_MASTER_KEY",
        "",
        "The master key that wraps every workspace's data key: 32 random bytes in base64. Empty: read `LABELHOUSE_MASTER_KEY_FILE`. See docs/security.md, Encryption at rest.",
    ),
    "master_key_file": (
        "LABELHOUSE_MASTER_KEY_FILE",
        "",
        "File holding the master key (base64, mode 0600). Empty: `master.key` in the key folder, created on first start. Production refuses a key file inside the data folder.",
    ),
    "key_dir": (
        "LABELHOUSE_KEY_DIR",
        "",
        "Folder of the keyring (the workspaces' data keys, wrapped by the master key) and of the default master key file. Empty: `keys` in the data folder. Backups never copy it; production refuses it inside the data folder.",
    ),
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str
    port: int
    mode: str
    sqlite_synchronous: str
    max_body_mb: int
    inline_import_mb: int
    job_threads: int
    workers: int
    log_level: str
    outbound_allow: str
    outbound_max_mb: int
    outbound_timeout_s: float
    outbound_https_only: bool
    rate_limit: float
    workspace_quota_mb: int
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_redirect_base: str = ""
    oidc_name: str = "SSO"
    oidc_hosts: str = ""
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = "groups"
    oidc_roles: str = ""
    oidc_link_email: bool = False
    hot_threads: int = 0

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    master_key: str = field(default="", repr=False)  # a secret: never in a repr or a log line
    master_key_file: str = ""
    key_dir: str = ""

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'labelhouse.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def keys_dir(self) -> Path:
        return Path(self.key_dir) if self.key_dir else self.data_dir / "keys"

    @property
    def master_key_path(self) -> Path:
        return Path(self.master_key_file) if self.master_key_file else self.keys_dir / "master.key"

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``), then explicit overrides (flags)."""
    source = os.environ if env is None else env
    raw: dict[str, Any] = {}
    for name, (var, default, _doc) in SETTINGS.items():
        raw[name] = overrides.get(name) if overrides.get(name) is not None else source.get(var, default)
    try:
        settings = Settings(
            data_dir=Path(raw["data_dir"]),
            database_url=str(raw["database_url"]),
            host=str(raw["host"]),
            port=int(raw["port"]),
            mode=str(raw["mode"]),
            sqlite_synchronous=str(raw["sqlite_synchronous"]).upper(),
            max_body_mb=int(raw["max_body_mb"]),
            inline_import_mb=int(raw["inline_import_mb"]),
            job_threads=int(raw["job_threads"]),
            workers=int(raw["workers"]),
            log_level=str(raw["log_level"]),
            outbound_allow=str(raw["outbound_allow"]),
            outbound_max_mb=int(raw["outbound_max_mb"]),
            outbound_timeout_s=float(raw["outbound_timeout_s"]),
            outbound_https_only=_flag(raw["outbound_https_only"], "outbound_https_only"),
            rate_limit=float(raw["rate_limit"]),
            workspace_quota_mb=int(raw["workspace_quota_mb"]),
            oidc_issuer=str(raw["oidc_issuer"]).strip(),
            oidc_client_id=str(raw["oidc_client_id"]).strip(),
            oidc_client_secret=str(raw["oidc_client_secret"]),
            oidc_redirect_base=str(raw["oidc_redirect_base"]).strip().rstrip("/"),
            oidc_name=str(raw["oidc_name"]).strip() or "SSO",
            oidc_hosts=str(raw["oidc_hosts"]),
            oidc_scopes=str(raw["oidc_scopes"]).strip(),
            oidc_groups_claim=str(raw["oidc_groups_claim"]).strip(),
            oidc_roles=str(raw["oidc_roles"]),
            oidc_link_email=_flag(raw["oidc_link_email"], "oidc_link_email"),
            hot_threads=int(raw["hot_threads"]),
            master_key=str(raw["master_key"]),
            master_key_file=str(raw["master_key_file"]),
            key_dir=str(raw["key_dir"]),
        )
    except ValueError as exc:
        raise Invalid(f"a setting is not a number: {exc}", field="settings") from None
    _check(settings)
    return settings


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise Invalid(f"{SETTINGS[name][0]} is true or false, not {value!r}", field=name)


def _check(settings: Settings) -> None:
    if settings.mode not in ("development", "production"):
        raise Invalid("LABELHOUSE_MODE is development or production", field="mode")
    if settings.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise Invalid("LABELHOUSE_SQLITE_SYNCHRONOUS is NORMAL, FULL or EXTRA", field="sqlite_synchronous")
    if settings.mode == "production" and settings.sqlite_synchronous == "OFF":
        raise Invalid(
            "production mode refuses LABELHOUSE_SQLITE_SYNCHRONOUS=OFF: a crash could lose acknowledged annotations",
            field="sqlite_synchronous",
        )
    if settings.hot_threads < 0:
        raise Invalid("LABELHOUSE_HOT_THREADS is 0 (automatic) or more", field="hot_threads")
    if settings.rate_limit < 0 or settings.workspace_quota_mb < 0:
        raise Invalid(
            "LABELHOUSE_RATE_LIMIT and LABELHOUSE_WORKSPACE_QUOTA_MB are 0 (off) or more", field="settings"
        )
    allow = AllowList.parse(settings.outbound_allow)  # also checks the syntax in every mode
    _check_oidc(settings)
    if settings.mode != "production":
        return
    if settings.log_level.lower() == "debug":
        raise Invalid(
            "production mode refuses LABELHOUSE_LOG_LEVEL=debug: debug logs may hold request data; use info",
            field="log_level",
        )
    if allow.too_broad():
        raise Invalid(
            f"production mode refuses LABELHOUSE_OUTBOUND_ALLOW entries {', '.join(allow.too_broad())}: "
            "they open the internal network or a cloud metadata service to URL fetches; list the hosts needed",
            field="outbound_allow",
        )


def _check_oidc(settings: Settings) -> None:
    """Single sign-on is all or nothing: a half-configured provider refuses to start."""
    if not settings.oidc_enabled:
        return
    needed = {
        "oidc_client_id": settings.oidc_client_id,
        "oidc_redirect_base": settings.oidc_redirect_base,
        "oidc_hosts": settings.oidc_hosts.strip(),
        "oidc_roles": settings.oidc_roles.strip(),
    }
    for name, value in needed.items():
        if not value:
            raise Invalid(f"LABELHOUSE_OIDC_ISSUER is set, so {SETTINGS[name][0]} is needed too", field=name)
    for name in ("oidc_issuer", "oidc_redirect_base"):
        url = urlsplit(getattr(settings, name))
        if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            raise Invalid(
                f"{SETTINGS[name][0]} is an http(s) URL with no query, e.g. https://login.corp", field=name
            )
        if settings.mode == "production" and url.scheme != "https":
            raise Invalid(f"production mode refuses {SETTINGS[name][0]} without https", field=name)
    hosts = AllowList.parse(settings.oidc_hosts)
    issuer_host = urlsplit(settings.oidc_issuer).hostname or ""
    listed = hosts.allows_host(issuer_host)
    try:
        listed = listed or hosts.allows_address(ipaddress.ip_address(issuer_host))
    except ValueError:
        pass
    if not listed:
        raise Invalid(
            f"LABELHOUSE_OIDC_HOSTS does not list the issuer's host {issuer_host!r}; "
            "list it to let the server contact the identity provider",
            field="oidc_hosts",
        )
    if not parse_rules(settings.oidc_roles).rules:
        raise Invalid("LABELHOUSE_OIDC_ROLES maps no group: nobody could sign in", field="oidc_roles")
    if not settings.oidc_groups_claim:
        raise Invalid("LABELHOUSE_OIDC_GROUPS_CLAIM is empty", field="oidc_groups_claim")


def check_key_placement(settings: Settings) -> None:
    """Production refuses keys stored with the data they protect (checked when keys are opened).

    A copy of the data folder (a disk snapshot, an rsync) must never carry the master key, and
    must not carry the keyring either: an old keyring copy would bring back the data key of a
    deleted workspace (see docs/security.md, crypto-shredding)."""
    if settings.mode != "production":
        return
    data = settings.data_dir.resolve()
    if settings.keys_dir.resolve().is_relative_to(data):
        raise Invalid(
            "production mode refuses the key folder inside the data folder: set LABELHOUSE_KEY_DIR to a "
            "folder outside it (e.g. /etc/labelhouse/keys) and keep its copies apart from data backups",
            field="key_dir",
        )
    if settings.master_key:
        return
    path = settings.master_key_path.resolve()
    if path.is_relative_to(data):
        raise Invalid(
            "production mode refuses LABELHOUSE_MASTER_KEY_FILE inside the data folder: the key would "
            "travel with every copy of the data it protects; move it out",
            field="master_key_file",
        )
    if path.exists() and path.stat().st_mode & 0o077:
        raise Invalid(
            f"production mode refuses the master key file {path}: others can read it; chmod 600 it",
            field="master_key_file",
        )


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings)]
