"""gunicorn's settings for scripts/run, and the starting point for a deployment's.

Access lines carry no query string (the office's name search ``?q=``) and no token of a link sent by
mail (password reset, e-mail confirmation, staff enrolment): the path's token is replaced by
``[redacted]`` (ASVS 16.2.5; review L4). No Referer either: it can carry both.
"""

import re

from gunicorn.glogging import Logger

#: Paths whose last segment is a secret that works as a key.
TOKEN_PATH = re.compile(r"^(/account/(?:reset|confirm)/|/office/enrol/)[^/?#]+")

# host, -, user, time, "METHOD PATH PROTOCOL", status, bytes, user agent
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s "%(a)s"'


def redact(path: str) -> str:
    return TOKEN_PATH.sub(r"\1[redacted]", path)


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact(atoms.get("U") or "")
        atoms["q"] = ""
        atoms["f"] = "-"
        atoms["r"] = f"{atoms.get('m', '-')} {atoms['U']} {atoms.get('H', '-')}"
        return atoms


logger_class = RedactingLogger
