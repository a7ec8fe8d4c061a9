"""What a resident must know to finish the errand: the fee (手数料), how the result is received, how to
pay, and how long it takes (処理期間). Said on the start page, the check page, the confirmation and
status pages, and in the mails, from the form version's definition (``fee``, ``receive``,
``receive_field``, ``payment``, ``service_level_days``). A version that says nothing of one of them
shows nothing of it, rather than a guess.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from app.accounts.models import Office
from app.catalogue.models import FormVersion
from app.extensions import db
from app.i18n import JST, localized

RECEIVE_LABELS = {"counter": _l("窓口で受け取る"), "post": _l("郵送で受け取る")}
PAYMENT_LABELS = {
    "counter": _l("窓口で現金で支払う"),
    "postal_order": _l("郵便局で買える定額小為替を、市役所へ郵送する"),
    "online": _l("オンライン決済（準備中です。現在はご利用いただけません）"),
}
#: Ways of paying that are not built yet: said as 準備中 (never a link that leads nowhere).
NOT_YET = frozenset({"online"})


def fee(version: FormVersion, answers: dict | None) -> dict | None:
    """``{per_copy, copies, total}`` in yen; ``copies`` and ``total`` are None while the number of copies is
    not known (the start page). None when the definition says nothing of a fee."""
    spec = version.definition.get("fee")
    if spec is None:
        return None
    copies = 1
    if spec.get("copies_field"):
        answer = (answers or {}).get(spec["copies_field"])
        copies = int(answer) if isinstance(answer, int | str) and str(answer).isdigit() else None
    per_copy = int(spec["per_copy"])
    return {"per_copy": per_copy, "copies": copies, "total": per_copy * copies if copies is not None else None,
            "by_copy": bool(spec.get("copies_field"))}


def _offices(codes: set[str]) -> dict[str, Office]:
    if not codes:
        return {}
    return {o.code: o for o in db.session.scalars(sa.select(Office).where(Office.code.in_(codes)))}


def ways_to_receive(version: FormVersion, answers: dict | None, locale: str) -> list[dict]:
    """``[{method, label, chosen, office, hours, address, phone, bring, note}]``: every way the form offers,
    or only the one the resident chose (the answer of ``receive_field``)."""
    definition = version.definition
    ways = definition.get("receive") or []
    chosen = (answers or {}).get(definition["receive_field"]) if definition.get("receive_field") else None
    if chosen is not None:
        ways = [way for way in ways if way["method"] == chosen] or ways
    offices = _offices({way.get("office") or definition["office"] for way in ways if way["method"] == "counter"})
    result = []
    for way in ways:
        item = {"method": way["method"], "label": str(RECEIVE_LABELS[way["method"]]),
                "chosen": chosen == way["method"], "bring": localized(way.get("bring"), locale),
                "note": localized(way.get("note"), locale), "office": None, "hours": "", "address": "", "phone": ""}
        if way["method"] == "counter":
            office = offices.get(way.get("office") or definition["office"])
            contact = (office.contact or {}) if office else {}
            item.update(office=office.name(locale) if office else "", hours=localized(contact.get("hours"), locale),
                        address=localized(contact.get("address"), locale), phone=contact.get("phone", ""))
        result.append(item)
    return result


def ways_to_pay(version: FormVersion) -> list[dict]:
    """``[{method, label, available}]`` in the definition's order."""
    return [{"method": method, "label": str(PAYMENT_LABELS[method]), "available": method not in NOT_YET}
            for method in version.definition.get("payment") or []]


def decision_expected_by(version: FormVersion, submitted_at: dt.datetime | None) -> dt.date | None:
    """The day by which the office aims to decide: the submission's date in Japan + 処理期間."""
    days = version.definition.get("service_level_days")
    if not days or submitted_at is None:
        return None
    return (submitted_at.astimezone(JST) + dt.timedelta(days=days)).date()


def errand(version: FormVersion, answers: dict | None, locale: str, submitted_at: dt.datetime | None = None) -> dict:
    """Everything above for a template: ``{fee, receive, payment, service_level_days, expected_by}``."""
    return {
        "fee": fee(version, answers),
        "receive": ways_to_receive(version, answers, locale),
        "payment": ways_to_pay(version),
        "service_level_days": version.definition.get("service_level_days"),
        "expected_by": decision_expected_by(version, submitted_at),
    }


# ---- the sentences people read ---------------------------------------------------------------------


def yen(amount: int) -> str:
    """「1,200円」, "¥1,200"."""
    grouped = format(amount, ",")
    return gettext("%(amount)s円", amount=grouped)


def fee_sentence(found: dict | None) -> str | None:
    """「手数料は600円です（1通300円×2通）。」; None without a fee."""
    if found is None:
        return None
    if found["per_copy"] == 0:
        return gettext("手数料はかかりません。")
    if found["total"] is None:
        return gettext("手数料は1通%(per_copy)sです。", per_copy=yen(found["per_copy"]))
    if found["by_copy"]:
        return gettext("手数料は%(total)sです（1通%(per_copy)s×%(copies)s通）。", total=yen(found["total"]),
                       per_copy=yen(found["per_copy"]), copies=found["copies"])
    return gettext("手数料は%(total)sです。", total=yen(found["total"]))


def _counter_sentence(way: dict) -> str:
    parts = [gettext("%(office)sの窓口でお受け取りください。", office=way["office"])]
    if way["hours"]:
        parts.append(gettext("受付時間：%(hours)s。", hours=way["hours"]))
    if way["address"]:
        parts.append(gettext("場所：%(address)s。", address=way["address"]))
    if way["bring"]:
        parts.append(gettext("お持ちいただくもの：%(bring)s。", bring=way["bring"]))
    return "".join(parts)


def next_steps(version: FormVersion, answers: dict | None, submitted_at: dt.datetime | None = None, *,
               decided: bool = False) -> list[str]:
    """What happens next, one sentence per step, in the current language (a page's, or a mail's
    ``force_locale``). Before the decision: the review and its time, then how the result will be
    received and paid for. Once approved (``decided``): exactly what to do now."""
    locale = str(get_locale() or "ja")
    found = errand(version, answers, locale, submitted_at)
    fee_found, ways, paying = found["fee"], found["receive"], {p["method"] for p in found["payment"]}
    due = fee_found is not None and fee_found["per_copy"] > 0
    steps = []
    if not decided:
        if found["service_level_days"]:
            if found["expected_by"] is not None:
                steps.append(gettext("担当課で審査します。通常%(days)s日以内（%(date)sごろまで）に、結果をメールでお知らせします。",
                                     days=found["service_level_days"], date=format_day(found["expected_by"], locale)))
            else:
                steps.append(gettext("担当課で審査します。通常%(days)s日以内に、結果をメールでお知らせします。",
                                     days=found["service_level_days"]))
        else:
            steps.append(gettext("担当課で審査し、結果をメールでお知らせします。"))
    for way in ways:
        if way["method"] == "counter":
            sentence = _counter_sentence(way)
            if due and "counter" in paying:
                sentence += gettext("手数料は窓口でお支払いください。")
        else:
            sentence = way["note"] or gettext("郵送でお送りします。")
            if due and "postal_order" in paying:
                office = ways_office(version, locale)
                sentence = gettext(
                    "手数料分の定額小為替（郵便局で買えます）に受付番号を書き添えて、%(office)sへ郵送してください。"
                    "届いたことを確かめてから、お送りします。", office=office) + sentence
        if len(ways) > 1 and not way["chosen"]:
            sentence = gettext("%(way)sの場合：", way=way["label"]) + sentence
        steps.append(sentence if decided else gettext("承認されたら：") + sentence)
    if fee_found is not None:
        steps.append(fee_sentence(fee_found))
    if decided and not ways:
        steps.append(gettext("手続きは完了しました。ほかにしていただくことはありません。"))
    return steps


def ways_office(version: FormVersion, locale: str) -> str:
    """The form's office with its address, where postal orders are sent: 「市民課（架空市中央1-1-1）」."""
    office = _offices({version.definition["office"]}).get(version.definition["office"])
    if office is None:
        return ""
    address = localized((office.contact or {}).get("address"), locale)
    if not address:
        return office.name(locale)
    return f"{office.name(locale)} ({address})" if locale.startswith("en") else f"{office.name(locale)}（{address}）"


def format_day(day: dt.date, locale: str) -> str:
    if locale.startswith("en"):
        return day.strftime("%-d %B %Y")
    return f"{day.year}年{day.month}月{day.day}日"
