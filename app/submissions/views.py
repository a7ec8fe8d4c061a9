"""Resident portal: start, fill, check, submit, status (being written)."""

from flask import Blueprint

bp = Blueprint("submissions", __name__)


@bp.get("/submissions")
def mine():
    return "", 204
