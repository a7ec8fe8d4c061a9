"""Configuration: the only module that reads ``os.environ``.

Fail closed. ``MADOGUCHI_ENV`` unset means production: a deployment that forgets it refuses to start
without its secrets instead of running with generated ones, the /dev tools and the demo. A local
checkout says ``MADOGUCHI_ENV=development`` (``scripts/run`` and ``scripts/test`` do); development
generates its secrets into the instance folder (mode 0600) so a fresh clone runs at once.

Secrets go only to the processes that use them (ASVS 13.3; DESIGN rule 5: web processes hold no seal
key). A process's role is ``MADOGUCHI_PROCESS`` (``web``, ``worker`` or ``cli``); without it a process
started by the ``flask`` command is ``cli`` and anything else (gunicorn) is ``web``:

- ``web`` serves requests: the session key and the field key (TOTP secrets, My Number);
- ``worker`` (``flask worker`` with ``MADOGUCHI_PROCESS=worker``) also decrypts the seal keys;
- ``cli`` (an operator's command) also signs audit checkpoints.

A secret a role does not use is not read, even if the environment holds it, and not generated.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PROCESS_ROLES = ("web", "worker", "cli")
#: Every secret a process may be given, and which roles need each (README "Production secrets").
SECRETS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "web": ("SECRET_KEY", "MADOGUCHI_FIELD_KEY"),
    "worker": ("SECRET_KEY", "MADOGUCHI_FIELD_KEY", "MADOGUCHI_KEY_PASSPHRASE"),
    "cli": ("SECRET_KEY", "MADOGUCHI_FIELD_KEY", "MADOGUCHI_KEY_PASSPHRASE", "MADOGUCHI_AUDIT_KEY"),
}
ALL_SECRETS = SECRETS_BY_ROLE["cli"]
#: Shortest random secret production accepts (characters): 32 base64 characters carry 192 bits.
MIN_SECRET_LENGTH = 32
#: The webhook key is the worker's (it signs deliveries) and the development receiver's.
WEBHOOK_SECRET_ROLES = ("worker", "cli")
#: TEST ONLY fault points (MADOGUCHI_FAULT_INJECTION): where a worker SIGKILLs itself (app/jobs/faults.py).
FAULT_POINTS = ("after_claim", "after_send", "mid_seal")
#: Where the content-addressed blobs live (app/documents/blobs.py).
BLOB_STORES = ("filesystem", "database")


class ConfigurationError(RuntimeError):
    """The environment does not describe a service that may start."""


def _new_audit_key() -> str:
    """An Ed25519 private key in PEM (MADOGUCHI_AUDIT_KEY signs audit checkpoints)."""
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    return pem.decode().strip()


def _new_webhook_secret() -> str:
    """The Standard Webhooks form: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


#: Development secrets that are not random strings: name → generator.
_DEV_GENERATORS = {"MADOGUCHI_AUDIT_KEY": _new_audit_key, "MADOGUCHI_WEBHOOK_SECRET": _new_webhook_secret}


def _dev_secret(instance_path: Path, name: str, generate=None) -> str:
    """Read or create a development secret file in the instance folder, readable by the owner only."""
    secret_dir = dev_secrets_dir(instance_path)
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


def dev_secrets_dir(instance_path: Path) -> Path:
    secret_dir = Path(instance_path) / "secrets"
    secret_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return secret_dir


def weak_secret_problem(name: str, value: str) -> str | None:
    """Why production must refuse this value of a secret, or None (ASVS 13.3: no guessable keys)."""
    if name == "MADOGUCHI_AUDIT_KEY":
        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError):
            return f"{name} must be an unencrypted PEM Ed25519 private key"
        if not isinstance(key, Ed25519PrivateKey):
            return f"{name} must be an Ed25519 private key"
        return None
    if len(value) < MIN_SECRET_LENGTH or len(set(value)) < 8:
        return (f"{name} is too weak: use at least {MIN_SECRET_LENGTH} random characters "
                "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return None


def process_role(overrides: dict, env) -> str:
    role = overrides.get("MADOGUCHI_PROCESS") or env.get("MADOGUCHI_PROCESS")
    if not role:
        # Flask's command line sets this before it makes the app; gunicorn and other WSGI servers do not.
        role = "cli" if env.get("FLASK_RUN_FROM_CLI") == "true" else "web"
    if role not in PROCESS_ROLES:
        raise ConfigurationError(f"MADOGUCHI_PROCESS must be one of {', '.join(PROCESS_ROLES)}, not {role!r}")
    return role


def _smtp_problem(url: str) -> str | None:
    """Production sends mail only over TLS (ASVS 12.3.1), except to a relay on this host."""
    parts = urlsplit(url)
    if parts.scheme == "smtps":
        return None
    if parts.scheme != "smtp":
        return f"SMTP_URL must start with smtps:// or smtp://, not {parts.scheme!r}"
    if parse_qs(parts.query).get("starttls") == ["required"]:
        return None
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return ("SMTP_URL must use TLS in production: smtps://host:465 (implicit TLS) or "
            "smtp://host:587?starttls=required (a relay on this host may use plain smtp://127.0.0.1)")


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask configuration from the environment, then apply ``overrides`` (tests)."""
    env = os.environ
    overrides = dict(overrides or {})
    instance_path = Path(overrides.pop("INSTANCE_PATH", None) or env.get("MADOGUCHI_INSTANCE_PATH") or "instance")
    instance_path = instance_path.resolve()
    instance_path.mkdir(parents=True, exist_ok=True)
    # Unset means production: forgetting the variable must not open /dev/mail to the internet.
    madoguchi_env = overrides.get("MADOGUCHI_ENV") or env.get("MADOGUCHI_ENV") or "production"
    if madoguchi_env not in ("development", "production"):
        raise ConfigurationError(f"MADOGUCHI_ENV must be 'development' or 'production', not {madoguchi_env!r}")
    is_production = madoguchi_env == "production"
    role = process_role(overrides, env)

    secret_values: dict[str, str | None] = dict.fromkeys(ALL_SECRETS)
    missing, weak = [], []
    for name in SECRETS_BY_ROLE[role]:
        value = overrides.get(name) or env.get(name)
        if not value:
            if is_production:
                missing.append(name)
                continue
            value = _dev_secret(instance_path, name.lower(), _DEV_GENERATORS.get(name))
        elif is_production and (problem := weak_secret_problem(name, value)):
            weak.append(problem)
        secret_values[name] = value
    if missing:
        how = "MADOGUCHI_ENV is unset" if not (overrides.get("MADOGUCHI_ENV") or env.get("MADOGUCHI_ENV")) else \
            "MADOGUCHI_ENV=production"
        raise ConfigurationError(
            f"production ({how}) needs {', '.join(missing)} for a {role} process; set "
            f"{'it' if len(missing) == 1 else 'them'} in the environment (README, \"Production secrets\"), "
            "or set MADOGUCHI_ENV=development for a local checkout")
    if weak:
        raise ConfigurationError("; ".join(weak))

    # Not in SECRETS_BY_ROLE: a deployment without webhook destinations need not set it, but in
    # production a webhook is refused (app/delivery/channels/webhook.py) until it is set.
    webhook_secret = None
    if role in WEBHOOK_SECRET_ROLES or not is_production:
        webhook_secret = overrides.get("MADOGUCHI_WEBHOOK_SECRET") or env.get("MADOGUCHI_WEBHOOK_SECRET")
        if not webhook_secret and not is_production:
            webhook_secret = _dev_secret(instance_path, "madoguchi_webhook_secret", _new_webhook_secret)
        if webhook_secret and is_production and (problem := weak_secret_problem("MADOGUCHI_WEBHOOK_SECRET",
                                                                               webhook_secret)):
            raise ConfigurationError(problem)
    fault = overrides.get("MADOGUCHI_FAULT_INJECTION") or env.get("MADOGUCHI_FAULT_INJECTION")
    if fault and is_production:
        raise ConfigurationError("MADOGUCHI_FAULT_INJECTION is for tests only and cannot be set in production")
    if fault and fault not in FAULT_POINTS:
        raise ConfigurationError(f"MADOGUCHI_FAULT_INJECTION must be one of {', '.join(FAULT_POINTS)}, not {fault!r}")
    smtp_url = env.get("SMTP_URL") or None
    if smtp_url and is_production and (problem := _smtp_problem(smtp_url)):
        raise ConfigurationError(problem)
    ratelimit_storage = env.get("MADOGUCHI_RATELIMIT_STORAGE") or "database://"
    if is_production and ratelimit_storage.startswith("memory://"):
        raise ConfigurationError(
            "MADOGUCHI_RATELIMIT_STORAGE=memory:// counts per process: in production use the default "
            "(database://, the app's own database) or a shared store such as redis://")
    try:
        trusted_proxies = int(env.get("MADOGUCHI_TRUSTED_PROXIES", "0"))
    except ValueError:
        trusted_proxies = -1
    if not 0 <= trusted_proxies <= 5:
        raise ConfigurationError("MADOGUCHI_TRUSTED_PROXIES must be a whole number of proxies from 0 to 5")

    tested_on = overrides.pop("MADOGUCHI_A11Y_TESTED_ON", None) or env.get("MADOGUCHI_A11Y_TESTED_ON") or None
    if tested_on:
        try:
            tested_on = dt.date.fromisoformat(str(tested_on))
        except ValueError:
            raise ConfigurationError(
                f"MADOGUCHI_A11Y_TESTED_ON must be a date (YYYY-MM-DD), not {tested_on!r}") from None
    blob_store = overrides.get("MADOGUCHI_BLOB_STORE") or env.get("MADOGUCHI_BLOB_STORE") or "filesystem"
    if blob_store not in BLOB_STORES:
        raise ConfigurationError(f"MADOGUCHI_BLOB_STORE must be 'filesystem' or 'database', not {blob_store!r}")
    # A fax server's spool folder is shared with that server: production names it, a guess in one
    # node's instance folder would strand the faxes that node's worker spools.
    spool_path = env.get("MADOGUCHI_SPOOL_PATH") or (None if is_production else str(instance_path / "spool"))

    config = {
        "MADOGUCHI_ENV": madoguchi_env,
        "MADOGUCHI_PROCESS": role,
        "INSTANCE_PATH": str(instance_path),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'madoguchi.db'}",
        "MADOGUCHI_BASE_URL": env.get("MADOGUCHI_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The municipality named on documents and in the organisation seal certificate (O=, organizationIdentifier).
        "MADOGUCHI_MUNICIPALITY": env.get("MADOGUCHI_MUNICIPALITY", "架空市"),
        "MADOGUCHI_ORGANIZATION_ID": env.get("MADOGUCHI_ORGANIZATION_ID", "LGJP-999999"),
        # The day of the last manual accessibility test (the accessibility statement says 一部準拠 from then
        # on; without it, 配慮). Never 準拠: that needs every criterion tested and the results published.
        "MADOGUCHI_A11Y_TESTED_ON": tested_on,
        # RFC 3161 timestamp authority (signatures become PAdES B-T) and its root, trusted for timestamps only.
        "MADOGUCHI_TSA_URL": env.get("MADOGUCHI_TSA_URL") or None,
        "MADOGUCHI_TSA_ROOT": env.get("MADOGUCHI_TSA_ROOT") or None,
        # Keys in an HSM over PKCS#11; file keys (encrypted under MADOGUCHI_KEY_PASSPHRASE) otherwise.
        "MADOGUCHI_PKCS11_MODULE": env.get("MADOGUCHI_PKCS11_MODULE") or None,
        "MADOGUCHI_PKCS11_TOKEN": env.get("MADOGUCHI_PKCS11_TOKEN") or None,
        "MADOGUCHI_PKCS11_PIN": (env.get("MADOGUCHI_PKCS11_PIN") or None) if role != "web" else None,
        # Development keeps the root CA key in the instance folder (never in the database); production
        # keeps it offline (`flask seals init --root-key-out`, `flask seals root-sign --root-key`).
        "MADOGUCHI_DEV_ROOT_KEY_PATH": (None if is_production
                                        else str(instance_path / "secrets" / "DEVELOPMENT-ONLY-root-ca-key.pem")),
        # Applying a seal needs a second factor no older than this.
        "SEAL_FRESH_MINUTES": int(env.get("MADOGUCHI_SEAL_FRESH_MINUTES", "5")),
        "MADOGUCHI_CATALOGUE_PATH": env.get("MADOGUCHI_CATALOGUE_PATH") or None,
        "SMTP_URL": smtp_url,
        "MAIL_SENDER": env.get("MADOGUCHI_MAIL_SENDER", "madoguchi@example.lg.jp"),
        # Delivery to external offices (app/delivery/outbox.py). The gateway is an e-mail-to-fax
        # address template, e.g. "{number}@fax.example.lg.jp"; without one, development spools faxes.
        "MADOGUCHI_FAX_GATEWAY": env.get("MADOGUCHI_FAX_GATEWAY") or None,
        "MADOGUCHI_SPOOL_PATH": spool_path,
        "MADOGUCHI_WEBHOOK_SECRET": webhook_secret,
        # A worker that has not recorded a send within this time is taken to have died mid-send.
        "MADOGUCHI_DELIVERY_LEASE_SECONDS": float(env.get("MADOGUCHI_DELIVERY_LEASE_SECONDS", "300")),
        "MADOGUCHI_WORKER_POLL_SECONDS": float(env.get("MADOGUCHI_WORKER_POLL_SECONDS", "1")),
        # TEST ONLY: one of FAULT_POINTS makes the worker SIGKILL itself at that point, so the crash
        # tests can prove a killed worker loses and half-does nothing. Refused in production above.
        "MADOGUCHI_FAULT_INJECTION": fault or None,
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (werkzeug ProxyFix):
        # the client address (rate limits, security events) and https come from them. 0: none trusted.
        "MADOGUCHI_TRUSTED_PROXIES": trusted_proxies,
        # A job whose worker has not finished it within this time is taken to have died: another claims it.
        "MADOGUCHI_JOB_LEASE_SECONDS": float(env.get("MADOGUCHI_JOB_LEASE_SECONDS", "300")),
        # 'filesystem' (the instance folder) or 'database' (rows in the one database every node shares).
        "MADOGUCHI_BLOB_STORE": blob_store,
        **secret_values,
        # Elderly residents fill slowly: the CSRF token lives as long as the session, and the
        # session idles out only after RESIDENT_IDLE_MINUTES (with a warning and a way to extend).
        "WTF_CSRF_TIME_LIMIT": None,
        "RESIDENT_IDLE_MINUTES": int(env.get("MADOGUCHI_IDLE_MINUTES", "30")),
        # However active, a resident's session ends this long after sign-in (ASVS 7.3.2).
        "RESIDENT_ABSOLUTE_HOURS": float(env.get("MADOGUCHI_RESIDENT_ABSOLUTE_HOURS", "12")),
        # Staff hold more than their own data: their session idles out sooner, warning or not.
        "STAFF_IDLE_MINUTES": int(env.get("MADOGUCHI_STAFF_IDLE_MINUTES", "15")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        # __Host-: only ever set by this origin over https, for the whole path, never for a parent
        # domain (ASVS 3.3.3); browsers refuse the prefix without Secure, so development keeps the plain name.
        "SESSION_COOKIE_NAME": "__Host-madoguchi_session" if is_production else "madoguchi_session",
        # Session cookies only: the browser forgets them when it closes (a shared family PC).
        "SESSION_PERMANENT": False,
        "HSTS": "max-age=31536000; includeSubDomains" if is_production else None,
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "JSON_AS_ASCII": False,
        # hide_parameters: a failed statement's values (names, addresses) stay out of logs (ASVS 16.2.5).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    }
    config.update(overrides)
    # Secrets of other roles stay unset even when a caller passed them.
    for name in ALL_SECRETS:
        if name not in SECRETS_BY_ROLE[config["MADOGUCHI_PROCESS"]]:
            config[name] = None
    if config["RATELIMIT_STORAGE_URI"] == "database://":
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"url": config["SQLALCHEMY_DATABASE_URI"]})
    return config
