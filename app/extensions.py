"""Extensions, created unbound and initialised in ``create_app``."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from app.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()


def _record_breach(limit: RequestLimit) -> None:
    """Every refusal by a rate limit is a security event (a lock-out, ASVS 16.3.1); the 429 page follows."""
    from app import security_log  # the log's table is defined on the models' base, imported late

    security_log.record("rate_limit", "locked", limit=str(limit.limit), endpoint=request.endpoint)


limiter = Limiter(key_func=get_remote_address, default_limits=[], on_breach=_record_breach)
