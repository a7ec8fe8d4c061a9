"""Rendering the printed templates without an app: a plain Jinja environment like Flask's (autoescaped)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from app.documents import codes

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
VERIFY_BASE = "http://127.0.0.1:5000/verify/"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html", "htm", "xml", "xhtml", "svg"]),
    undefined=jinja2.StrictUndefined,
)


def route() -> list[dict]:
    return [
        {"field_name": "step-1-uketsuke-shimin", "step_name": "受付", "office_name": "市民課"},
        {"field_name": "step-2-shinsa-shimin", "step_name": "審査", "office_name": "市民課"},
        {"field_name": "step-3-gougi-zeimu", "step_name": "合議", "office_name": "税務課"},
        {"field_name": "step-3-gougi-fukushi", "step_name": "合議", "office_name": "福祉課"},
        {"field_name": "step-4-kessai-shimin", "step_name": "決裁", "office_name": "市民課"},
    ]


def sections(extra_rows: list[dict] | None = None) -> list[dict]:
    rows = [
        {"label": "氏名", "value": "山田 太郎", "items": None},
        {"label": "氏名（フリガナ）", "value": "ヤマダ タロウ", "items": None},
        {"label": "生年月日", "value": "昭和30年4月1日", "items": None},
        {"label": "住所", "value": "〒100-0001 東京都千代田区千代田1-1 若葉ハイツ101号", "items": None},
        {"label": "電話番号", "value": "03-1234-5678", "items": None},
        {"label": "マイナンバー", "value": "提出済み（印字しません）", "items": None},
    ]
    return [
        {"title": "申請者", "rows": rows + (extra_rows or [])},
        {"title": "請求の内容", "rows": [
            {"label": "必要な証明書", "value": "住民票の写し", "items": None},
            {"label": "通数", "value": "2通", "items": None},
            {"label": "使用目的", "value": "年金の手続き\n（日本年金機構へ提出）", "items": None},
            {"label": "世帯員", "value": "", "items": [
                [("氏名", "山田 花子"), ("続柄", "妻")],
                [("氏名", "山田 一郎"), ("続柄", "子")],
            ]},
        ]},
    ]


def context(*, code: str | None = None, extra_rows: list[dict] | None = None, with_route: bool = True) -> dict:
    code = code or codes.new_verification_code()
    verify_url = VERIFY_BASE + code
    return {
        "municipality": "若葉市",
        "org_name": "若葉市長",
        "form_title": "住民票の写し等交付請求書",
        "form_version": 2,
        "receipt_number": "R7-000123",
        "verification_code": codes.format_code(code),
        "verify_url": verify_url,
        "qr_svg": Markup(codes.qr_svg(verify_url)),
        "submitted_at_text": "2025年11月22日 10:15",
        "generated_at_text": "2025年11月22日 10:16",
        "sections": sections(extra_rows),
        "route": route() if with_route else [],
        "org_seal_field": "org-seal",
    }


def render_template(name: str, **ctx) -> str:
    return _env.get_template(name).render(**ctx)
