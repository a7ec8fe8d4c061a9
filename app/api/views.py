"""/api/v1: JSON for machines; errors are JSON with a code (app.errors)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.get("/")
def index():
    return jsonify({"service": "madoguchi", "version": 1})
