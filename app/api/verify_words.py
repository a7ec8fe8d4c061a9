"""The verification report's problems in people's words, for the /verify page.

The report (``app.seals.verify``, ``app.seals.records``) names problems in English for operators, the
CLI and the API; a person holding a fax needs to know what went wrong in plain Japanese (or English),
without internal names. Each known problem maps to one sentence; anything else reads as a general one.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: (a fragment of the report's text, the sentence people read), most specific first.
PROBLEM_WORDS = (
    ("the document has no signatures", _l("この書類には電子印がありません。")),
    ("digest mismatch", _l("押印のあとで、書類が書き換えられています。")),
    ("the cryptographic signature is invalid", _l("電子印の署名が正しくありません。")),
    ("revoked before signing", _l("押印した時点で、電子印の証明書はすでに失効していました。")),
    ("timestamp is not valid", _l("押印の時刻の証明（タイムスタンプ）を確認できませんでした。")),
    ("not trusted", _l("この市役所が発行した電子印であることを確認できませんでした。")),
    ("changes after this signature are not allowed", _l("押印のあとで、認められていない変更が加えられています。")),
    ("data was appended after the last signature", _l("最後の押印のあとで、書類にデータが書き足されています。")),
    ("no valid signature structure", _l("電子印の形式が正しくありません。")),
    ("cannot be read as a signed PDF", _l("電子印つきのPDFとして読み取れませんでした。")),
    ("answers were changed after this seal", _l("押印のあとで、市役所に保管している申請の内容が変更されています。")),
    ("an attachment was changed after this seal",
     _l("押印のあとで、市役所に保管している添付ファイルが変更されています。")),
    ("the chain is broken", _l("押印の記録の並びが正しくありません。")),
    ("the record's hash does not match", _l("押印の記録が書き換えられています。")),
    ("the seal's signature is invalid", _l("押印の記録の署名が正しくありません。")),
)
GENERAL = _l("電子印を確認できませんでした。")


def problem_words(problems: list[str]) -> list[str]:
    """One plain sentence per kind of problem, in the order first found, without repeats."""
    sentences: list[str] = []
    for problem in problems:
        sentence = next((str(words) for fragment, words in PROBLEM_WORDS if fragment in problem), str(GENERAL))
        if sentence not in sentences:
            sentences.append(sentence)
    return sentences
