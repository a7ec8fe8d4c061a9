"""Pages about the service itself, linked from every page's footer: how to reach the municipality
(/contact, from offices.yaml), how personal data is handled (/privacy, generated from the published
catalogue: what each form collects, why, who receives it, how long it is kept), and the accessibility
statement (/accessibility, in the wording of 総務省「みんなの公共サイト運用ガイドライン」)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.accounts.models import Office
from app.catalogue.models import FormVersion
from app.catalogue.service import published_forms
from app.extensions import db
from app.i18n import localized
from app.submissions.receivers import receivers

bp = Blueprint("about", __name__)


def _locale() -> str:
    return str(get_locale())


@bp.get("/contact")
def contact():
    offices = [o for o in db.session.scalars(sa.select(Office).order_by(Office.id)) if o.contact]
    return render_template("about/contact.html", offices=offices)


def collected(version: FormVersion, locale: str) -> list[str]:
    """What a form asks, as people read it: each question's label; a repeating group with its parts; My
    Number and uploads with how they are kept."""
    items = []
    for page in version.definition["pages"]:
        for field in page["fields"]:
            label = localized(field["label"], locale)
            if field["type"] == "group":
                parts = "、".join(localized(sub["label"], locale) for sub in field["fields"])
                label = str(_l("%(label)s（%(parts)s）", label=label, parts=parts))
            elif field["type"] == "mynumber":
                label = str(_l("%(label)s（暗号化して保管し、書類には印字しません）", label=label))
            elif field["type"] == "file":
                label = str(_l("%(label)s（画像またはPDF）", label=label))
            items.append(label)
    return items


@bp.get("/privacy")
def privacy():
    locale = _locale()
    forms = [
        {"title": version.title(locale), "office": version.office.name(locale),
         "purpose": localized(version.definition.get("purpose"), locale),
         "collected": collected(version, locale),
         "receivers": receivers(version, None, locale),
         "retention_years": version.definition.get("retention_years")}
        for version in published_forms()
    ]
    return render_template("about/privacy.html", forms=forms)


@bp.get("/accessibility")
def accessibility():
    return render_template("about/accessibility.html")
