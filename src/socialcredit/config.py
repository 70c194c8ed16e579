"""Settings from the environment, read once at start-up.

SOCIALCREDIT_DATABASE_URL   SQLAlchemy URL; default: an SQLite file socialcredit.db here
SOCIALCREDIT_MODE           development (default) or production
SOCIALCREDIT_ID_HASH_KEY    key of the HMAC that keys natural persons (16+ characters)
SOCIALCREDIT_ID_ENCRYPTION_KEY  Fernet key of the encrypted ID copies
SOCIALCREDIT_PACK           policy pack directory; default: the bundled cn-national pack
SOCIALCREDIT_LOG_SIGNING_KEY  Ed25519 key (base64) that signs the published tree heads of the log
                            (made by `socialcredit keys new`; kept apart like the ID keys)
SOCIALCREDIT_KEY_FILE       development only: where generated keys are kept (default: beside the
                            SQLite file, e.g. demo.db.keys.json; else .socialcredit/keys.json)
SOCIALCREDIT_SMTP_URL       smtp://host:port of the mail relay that delivers notices
SOCIALCREDIT_MAIL_FROM      sender address of notices
SOCIALCREDIT_OPEN_DATA_DIR  where the daily open-data files are written (default: next to the SQLite file)
SOCIALCREDIT_CHECK_FILE     the compiled check file that server processes share (default: next to
                            the SQLite file; with PostgreSQL and no setting, one per process)
SOCIALCREDIT_SEARCH_RATE    public name searches a second per client address, sustained (default
                            1; 0 turns the limit off, e.g. behind a proxy that limits: see
                            api/ratelimit.py)
SOCIALCREDIT_SEARCH_BURST   searches a client address may make at once before the rate applies
                            (default 30)
SOCIALCREDIT_PERSON_CHECK_RATE  checks on natural persons a second per agency on the main API
                            (default 50, burst SOCIALCREDIT_PERSON_CHECK_BURST 5000; 0 turns the
                            quota off); serve-checks, the check server, has no quota
SOCIALCREDIT_PUBLIC_URL     the registry's public address, in open data and reports (default
                            http://127.0.0.1:8000; never taken from a request's Host header)
SOCIALCREDIT_MAX_BODY       the largest request body read, in bytes (default 4 MiB); larger: 413
SOCIALCREDIT_MAX_UPLOAD     the largest upload (agency files, attachments), bytes (default 200 MiB)
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from .errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///socialcredit.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    mode: str
    id_hash_key: bytes
    id_encryption_key: bytes
    pack_path: Path | None
    key_source: str
    smtp_url: str | None = None
    mail_from: str | None = None
    open_data_path: Path | None = None
    check_file_path: Path | None = None
    models_path: Path | None = None
    search_rate: float = 1.0
    search_burst: int = 30
    #: checks on natural persons a second per agency on the main API (0: no quota), and how
    #: many at once; the check server has no quota (a ticketing system is never throttled)
    person_check_rate: float = 50.0
    person_check_burst: int = 5000
    #: Ed25519 private key (base64) that signs the log's published tree heads; None: unsigned
    log_signing_key: str | None = None
    #: the registry's public address, for links in open data and reports (never the request's
    #: Host header, which a client chooses)
    public_url: str = "http://127.0.0.1:8000"
    #: the largest request body the API and pages read, and the largest upload (bytes)
    max_body: int = 4 * 1024 * 1024
    max_upload: int = 200 * 1024 * 1024

    @property
    def open_data_dir(self) -> Path:
        """Where the daily open-data files go: SOCIALCREDIT_OPEN_DATA_DIR, or next to an SQLite
        file, or .socialcredit/open-data."""
        if self.open_data_path is not None:
            return self.open_data_path
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            db = Path(self.database_url.removeprefix("sqlite:///"))
            return db.with_name(db.name + ".open-data")
        return Path(".socialcredit/open-data")

    @property
    def models_dir(self) -> Path:
        """Where scorecards fitted on this registry's outcomes are kept
        (``socialcredit scorecard fit``): SOCIALCREDIT_MODELS_DIR, or next to an SQLite file,
        or .socialcredit/models. A pack names a model by its id; a model not found here is
        one shipped with the package."""
        if self.models_path is not None:
            return self.models_path
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            db = Path(self.database_url.removeprefix("sqlite:///"))
            return db.with_name(db.name + ".models")
        return Path(".socialcredit/models")

    @property
    def check_file(self) -> Path | None:
        """Where the check file lives: SOCIALCREDIT_CHECK_FILE, or next to an SQLite file, or
        None (each process keeps its own, in a temporary directory)."""
        if self.check_file_path is not None:
            return self.check_file_path
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            db = Path(self.database_url.removeprefix("sqlite:///"))
            return db.with_name(db.name + ".checks")
        return None

    @property
    def database_label(self) -> str:
        """The URL without its password, for messages."""
        url = self.database_url
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
        return url

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        mode = e.get("SOCIALCREDIT_MODE", "development")
        if mode not in ("development", "production"):
            raise ConfigurationError(
                f"SOCIALCREDIT_MODE must be development or production, not {mode!r}"
            )
        hash_key = e.get("SOCIALCREDIT_ID_HASH_KEY")
        enc_key = e.get("SOCIALCREDIT_ID_ENCRYPTION_KEY")
        sign_key = e.get("SOCIALCREDIT_LOG_SIGNING_KEY")
        source = "environment"
        if not hash_key or not enc_key:
            if mode == "production":
                missing = [
                    n
                    for n, v in (
                        ("SOCIALCREDIT_ID_HASH_KEY", hash_key),
                        ("SOCIALCREDIT_ID_ENCRYPTION_KEY", enc_key),
                    )
                    if not v
                ]
                raise ConfigurationError(
                    f"{' and '.join(missing)} not set: in production the keys that protect "
                    "resident ID numbers must come from the environment (make them with "
                    "`socialcredit keys new`), never from a file next to the data"
                )
            key_file = _key_file(e)
            keys = _development_keys(key_file)
            hash_key = hash_key or keys["id_hash_key"]
            enc_key = enc_key or keys["id_encryption_key"]
            sign_key = sign_key or keys["log_signing_key"]
            source = f"development key file {key_file}"
        if not sign_key and mode == "development":
            sign_key = _development_keys(_key_file(e))["log_signing_key"]
        pack = e.get("SOCIALCREDIT_PACK")
        return cls(
            database_url=e.get("SOCIALCREDIT_DATABASE_URL") or DEFAULT_DATABASE_URL,
            mode=mode,
            id_hash_key=hash_key.encode("utf-8"),
            id_encryption_key=enc_key.encode("ascii"),
            pack_path=Path(pack) if pack else None,
            key_source=source,
            smtp_url=e.get("SOCIALCREDIT_SMTP_URL") or None,
            mail_from=e.get("SOCIALCREDIT_MAIL_FROM") or None,
            open_data_path=Path(e["SOCIALCREDIT_OPEN_DATA_DIR"])
            if e.get("SOCIALCREDIT_OPEN_DATA_DIR")
            else None,
            check_file_path=Path(e["SOCIALCREDIT_CHECK_FILE"])
            if e.get("SOCIALCREDIT_CHECK_FILE")
            else None,
            models_path=Path(e["SOCIALCREDIT_MODELS_DIR"])
            if e.get("SOCIALCREDIT_MODELS_DIR")
            else None,
            search_rate=_number(e, "SOCIALCREDIT_SEARCH_RATE", 1.0, minimum=0),
            search_burst=int(_number(e, "SOCIALCREDIT_SEARCH_BURST", 30, minimum=1, whole=True)),
            person_check_rate=_number(e, "SOCIALCREDIT_PERSON_CHECK_RATE", 50.0, minimum=0),
            person_check_burst=int(
                _number(e, "SOCIALCREDIT_PERSON_CHECK_BURST", 5000, minimum=1, whole=True)
            ),
            log_signing_key=sign_key or None,
            public_url=_public_url(e.get("SOCIALCREDIT_PUBLIC_URL") or "http://127.0.0.1:8000"),
            max_body=int(
                _number(e, "SOCIALCREDIT_MAX_BODY", 4 * 1024 * 1024, minimum=1024, whole=True)
            ),
            max_upload=int(
                _number(e, "SOCIALCREDIT_MAX_UPLOAD", 200 * 1024 * 1024, minimum=1024, whole=True)
            ),
        )


def _key_file(e: dict[str, str]) -> Path:
    """Development keys live beside the database they belong to (``demo.db`` ->
    ``demo.db.keys.json``), so that a command run from another directory finds them; a store
    that is not a file keeps them in .socialcredit/keys.json."""
    if e.get("SOCIALCREDIT_KEY_FILE"):
        return Path(e["SOCIALCREDIT_KEY_FILE"])
    url = e.get("SOCIALCREDIT_DATABASE_URL") or DEFAULT_DATABASE_URL
    if url.startswith("sqlite:///") and ":memory:" not in url:
        db = Path(url.removeprefix("sqlite:///"))
        return db.with_name(db.name + ".keys.json")
    return Path(".socialcredit/keys.json")


def _public_url(raw: str) -> str:
    from urllib.parse import urlsplit

    u = urlsplit(raw.strip())
    if u.scheme not in ("http", "https") or not u.netloc or u.query or u.fragment:
        raise ConfigurationError(
            f"SOCIALCREDIT_PUBLIC_URL must be an http(s) address such as "
            f"https://credit.example.gov, not {raw!r}"
        )
    return raw.strip().rstrip("/")


def _number(
    e: dict[str, str], name: str, default: float, *, minimum: float, whole: bool = False
) -> float:
    raw = e.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None
    if not value >= minimum:  # also refuses nan
        raise ConfigurationError(f"{name} must be at least {minimum:g}, not {raw!r}")
    if whole and not value.is_integer():
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}")
    return value


def new_keys() -> dict[str, str]:
    from .events.treehead import new_signing_key

    return {
        "id_hash_key": secrets.token_hex(32),
        "id_encryption_key": Fernet.generate_key().decode(),
        "log_signing_key": new_signing_key(),
    }


def _development_keys(path: Path) -> dict[str, str]:
    """Keys for a development database, made once and kept beside it (never in production)."""
    if path.is_file():
        keys = dict(json.loads(path.read_text()))
        if "log_signing_key" not in keys:  # a key file from before signed tree heads
            from .events.treehead import new_signing_key

            keys["log_signing_key"] = new_signing_key()
            path.write_text(json.dumps(keys, indent=2))
        return keys
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = new_keys()
    path.write_text(json.dumps(keys, indent=2))
    path.chmod(0o600)
    return keys
