"""The baseline of the submit benchmark: a bare Flask + SQLAlchemy endpoint that validates and inserts.

What a competent minimal Flask + SQLAlchemy service does for one submission: plain WTForms
validation of the 15 fields the benchmark's form asks (the same answers the real draft holds), then
one ORM insert (a mapped class, ``Session.add``, commit) of a row shaped like a submitted
``submissions`` row (answers as JSON, a unique receipt number, timestamps) into a table of its own,
answered with a redirect. No sign-in, CSRF, audit or jobs: that difference is what the benchmark's
ratio measures.

Served by gunicorn as ``baseline_app:create()`` with ``BASELINE_DATABASE_URL`` set; on SQLite it uses
the same connection settings as the app (WAL, synchronous=NORMAL, busy_timeout), so the comparison
is of the code path, not of the durability setting.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets

import sqlalchemy as sa
from flask import Flask, redirect, request
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from wtforms import Form, RadioField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp


class Base(DeclarativeBase):
    pass


class BaselineSubmission(Base):
    __tablename__ = "bench_baseline_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int]
    form_slug: Mapped[str] = mapped_column(sa.String(80))
    state: Mapped[str] = mapped_column(sa.String(20))
    receipt_number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    answers: Mapped[dict] = mapped_column(sa.JSON)
    applicant_name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


KANA = r"^[\u30a0-\u30ff\u3040-\u309f\uff66-\uff9f ー]+$"


class SubmissionForm(Form):
    """Fifteen fields, each checked the way a hand-written form would check it."""

    family = StringField(validators=[DataRequired(), Length(max=40)])
    given = StringField(validators=[DataRequired(), Length(max=40)])
    family_kana = StringField(validators=[DataRequired(), Length(max=40), Regexp(KANA)])
    given_kana = StringField(validators=[DataRequired(), Length(max=40), Regexp(KANA)])
    birth_era = RadioField(choices=["meiji", "taisho", "showa", "heisei", "reiwa"], validators=[DataRequired()])
    birth_year = StringField(validators=[DataRequired(), Regexp(r"^\d{1,2}$")])
    birth_month = StringField(validators=[DataRequired(), Regexp(r"^(0?[1-9]|1[0-2])$")])
    birth_day = StringField(validators=[DataRequired(), Regexp(r"^(0?[1-9]|[12]\d|3[01])$")])
    postcode = StringField(validators=[DataRequired(), Regexp(r"^\d{3}-?\d{4}$")])
    address = StringField(validators=[DataRequired(), Length(max=200)])
    phone = StringField(validators=[DataRequired(), Regexp(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")])
    email = StringField(validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")])
    whose_record = StringField(validators=[DataRequired(), AnyOf(["self", "household_all", "household_some"])])
    purpose = StringField(validators=[DataRequired(), Length(max=200)])
    copies = StringField(validators=[DataRequired(), Regexp(r"^[1-9]\d?$")])


#: A valid request body (the benchmark posts it as application/x-www-form-urlencoded).
SAMPLE = {
    "family": "山田", "given": "花子", "family_kana": "ヤマダ", "given_kana": "ハナコ",
    "birth_era": "showa", "birth_year": "33", "birth_month": "5", "birth_day": "1",
    "postcode": "100-0001", "address": "東京都千代田区千代田1-1", "phone": "03-1234-5678",
    "email": "hanako@example.jp", "whose_record": "self", "purpose": "手続きのため", "copies": "1",
}


def create() -> Flask:
    url = os.environ["BASELINE_DATABASE_URL"]
    engine = sa.create_engine(url)
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()
    new_session = sessionmaker(engine)
    app = Flask(__name__)

    @app.post("/submit")
    def submit():
        form = SubmissionForm(request.form)
        if not form.validate():
            return {"errors": form.errors}, 422
        data = form.data
        now = dt.datetime.now(dt.UTC)
        receipt = secrets.token_hex(4).upper()
        row = BaselineSubmission(resident_id=1, form_slug="juminhyo", state="submitted", receipt_number=receipt,
                                 answers=data, applicant_name=f"{data['family']} {data['given']}", created_at=now,
                                 submitted_at=now)
        with new_session() as session:
            session.add(row)
            session.commit()
            new_id = row.id
        return redirect(f"/done/{new_id}")

    return app


def create_table(url: str) -> None:
    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()


def count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        total = connection.scalar(sa.select(sa.func.count()).select_from(BaselineSubmission))
    engine.dispose()
    return total
