"""Configuration: the only module that reads ``os.environ``.

Development generates its secrets into the instance folder (mode 0600) so a fresh clone runs at once;
production refuses to start without them, because a generated secret there would silently differ
between nodes and be lost with the container.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

#: TEST ONLY fault points (MADOGUCHI_FAULT_INJECTION): where a worker SIGKILLs itself (app/jobs/faults.py).
FAULT_POINTS = ("after_claim", "after_send", "mid_seal")
#: Where the content-addressed blobs live (app/documents/blobs.py).
BLOB_STORES = ("filesystem", "database")

#: Secrets that production must receive from the environment.
REQUIRED_SECRETS = ("SECRET_KEY", "MADOGUCHI_KEY_PASSPHRASE", "MADOGUCHI_FIELD_KEY", "MADOGUCHI_AUDIT_KEY")


class ConfigurationError(RuntimeError):
    """The environment does not describe a service that may start."""


def _new_audit_key() -> str:
    """An Ed25519 private key in PEM (MADOGUCHI_AUDIT_KEY signs audit checkpoints)."""
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    return pem.decode().strip()


#: Development secrets that are not random strings: name → generator.
_DEV_GENERATORS = {"MADOGUCHI_AUDIT_KEY": _new_audit_key}


def _dev_secret(instance_path: Path, name: str, generate=None) -> str:
    """Read or create a development secret file in the instance folder, readable by the owner only."""
    secret_dir = instance_path / "secrets"
    secret_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = secret_dir / name
    if not path.exists():
        value = generate() if generate else base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        # O_EXCL: two processes starting at once must not overwrite each other's secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value
    return path.read_text().strip()


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask configuration from the environment, then apply ``overrides`` (tests)."""
    env = os.environ
    overrides = dict(overrides or {})
    instance_path = Path(overrides.pop("INSTANCE_PATH", None) or env.get("MADOGUCHI_INSTANCE_PATH") or "instance")
    instance_path = instance_path.resolve()
    instance_path.mkdir(parents=True, exist_ok=True)
    madoguchi_env = overrides.get("MADOGUCHI_ENV") or env.get("MADOGUCHI_ENV", "development")
    if madoguchi_env not in ("development", "production"):
        raise ConfigurationError(f"MADOGUCHI_ENV must be 'development' or 'production', not {madoguchi_env!r}")
    is_production = madoguchi_env == "production"

    secret_values: dict[str, str] = {}
    for name in REQUIRED_SECRETS:
        value = overrides.get(name) or env.get(name)
        if not value:
            if is_production:
                raise ConfigurationError(f"{name} must be set in production")
            value = _dev_secret(instance_path, name.lower(), _DEV_GENERATORS.get(name))
        secret_values[name] = value

    # Not in REQUIRED_SECRETS: a deployment without webhook destinations need not set it, but in
    # production a webhook is refused (app/delivery/channels/webhook.py) until it is set.
    webhook_secret = overrides.get("MADOGUCHI_WEBHOOK_SECRET") or env.get("MADOGUCHI_WEBHOOK_SECRET")
    if not webhook_secret and not is_production:
        webhook_secret = _dev_secret(instance_path, "madoguchi_webhook_secret")
    fault = overrides.get("MADOGUCHI_FAULT_INJECTION") or env.get("MADOGUCHI_FAULT_INJECTION")
    if fault and is_production:
        raise ConfigurationError("MADOGUCHI_FAULT_INJECTION is for tests only and cannot be set in production")
    if fault and fault not in FAULT_POINTS:
        raise ConfigurationError(f"MADOGUCHI_FAULT_INJECTION must be one of {', '.join(FAULT_POINTS)}, not {fault!r}")
    blob_store = overrides.get("MADOGUCHI_BLOB_STORE") or env.get("MADOGUCHI_BLOB_STORE") or "filesystem"
    if blob_store not in BLOB_STORES:
        raise ConfigurationError(f"MADOGUCHI_BLOB_STORE must be 'filesystem' or 'database', not {blob_store!r}")
    # A fax server's spool folder is shared with that server: production names it, a guess in one
    # node's instance folder would strand the faxes that node's worker spools.
    spool_path = env.get("MADOGUCHI_SPOOL_PATH") or (None if is_production else str(instance_path / "spool"))

    config = {
        "MADOGUCHI_ENV": madoguchi_env,
        "INSTANCE_PATH": str(instance_path),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'madoguchi.db'}",
        "MADOGUCHI_BASE_URL": env.get("MADOGUCHI_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The municipality named on documents and in the organisation seal certificate (O=, organizationIdentifier).
        "MADOGUCHI_MUNICIPALITY": env.get("MADOGUCHI_MUNICIPALITY", "架空市"),
        "MADOGUCHI_ORGANIZATION_ID": env.get("MADOGUCHI_ORGANIZATION_ID", "LGJP-999999"),
        # RFC 3161 timestamp authority (signatures become PAdES B-T) and its root, trusted for timestamps only.
        "MADOGUCHI_TSA_URL": env.get("MADOGUCHI_TSA_URL") or None,
        "MADOGUCHI_TSA_ROOT": env.get("MADOGUCHI_TSA_ROOT") or None,
        # Keys in an HSM over PKCS#11; file keys (encrypted under MADOGUCHI_KEY_PASSPHRASE) otherwise.
        "MADOGUCHI_PKCS11_MODULE": env.get("MADOGUCHI_PKCS11_MODULE") or None,
        "MADOGUCHI_PKCS11_TOKEN": env.get("MADOGUCHI_PKCS11_TOKEN") or None,
        "MADOGUCHI_PKCS11_PIN": env.get("MADOGUCHI_PKCS11_PIN") or None,
        # Applying a seal needs a second factor no older than this.
        "SEAL_FRESH_MINUTES": int(env.get("MADOGUCHI_SEAL_FRESH_MINUTES", "5")),
        "MADOGUCHI_CATALOGUE_PATH": env.get("MADOGUCHI_CATALOGUE_PATH") or None,
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_SENDER": env.get("MADOGUCHI_MAIL_SENDER", "madoguchi@example.lg.jp"),
        # Delivery to external offices (app/delivery/outbox.py). The gateway is an e-mail-to-fax
        # address template, e.g. "{number}@fax.example.lg.jp"; without one, development spools faxes.
        "MADOGUCHI_FAX_GATEWAY": env.get("MADOGUCHI_FAX_GATEWAY") or None,
        "MADOGUCHI_SPOOL_PATH": spool_path,
        "MADOGUCHI_WEBHOOK_SECRET": webhook_secret,
        # A worker that has not recorded a send within this time is taken to have died mid-send.
        "MADOGUCHI_DELIVERY_LEASE_SECONDS": float(env.get("MADOGUCHI_DELIVERY_LEASE_SECONDS", "300")),
        "MADOGUCHI_WORKER_POLL_SECONDS": float(env.get("MADOGUCHI_WORKER_POLL_SECONDS", "1")),
        # A job whose worker has not finished it within this time is taken to have died: another claims it.
        "MADOGUCHI_JOB_LEASE_SECONDS": float(env.get("MADOGUCHI_JOB_LEASE_SECONDS", "300")),
        # 'filesystem' (the instance folder) or 'database' (rows in the one database every node shares).
        "MADOGUCHI_BLOB_STORE": blob_store,
        # TEST ONLY: one of FAULT_POINTS makes the worker SIGKILL itself at that point, so the crash
        # tests can prove a killed worker loses and half-does nothing. Refused in production above.
        "MADOGUCHI_FAULT_INJECTION": env.get("MADOGUCHI_FAULT_INJECTION") or None,
        **secret_values,
        # Elderly residents fill slowly: the CSRF token lives as long as the session, and the
        # session idles out only after RESIDENT_IDLE_MINUTES (with a warning and a way to extend).
        "WTF_CSRF_TIME_LIMIT": None,
        "RESIDENT_IDLE_MINUTES": int(env.get("MADOGUCHI_IDLE_MINUTES", "30")),
        # Staff hold more than their own data: their session idles out sooner, warning or not.
        "STAFF_IDLE_MINUTES": int(env.get("MADOGUCHI_STAFF_IDLE_MINUTES", "15")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        "SESSION_COOKIE_NAME": "madoguchi_session",
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
        "RATELIMIT_STORAGE_URI": env.get("MADOGUCHI_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "JSON_AS_ASCII": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    config.update(overrides)
    return config
