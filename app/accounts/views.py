"""Sign-up, sign-in, sign-out, password reset (being written)."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.get("/sign-in")
def sign_in():
    return "", 204


@bp.post("/sign-out")
def sign_out():
    return "", 204
