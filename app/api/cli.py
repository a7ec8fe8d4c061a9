"""``flask seals verify FILE``: verification of a PDF offline, from the command line (the same report as
/api/v1/verify). It belongs to the ``seals`` group (``app.cli`` adds it there)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.api.verification import verify_bytes


@click.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary of /api/v1/verify.")
def verify(path: str, as_json: bool):
    """Verify a PDF offline against the service's root and CRL; exit 0 when genuine, 1 when not."""
    result = verify_bytes(Path(path).read_bytes())
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo("GENUINE" if result["genuine"] else "NOT GENUINE")
        document = result["document"]
        if document:
            click.echo(f"document: {document['form']} receipt {document['receipt_number']} "
                       f"code {document['verification_code']}{' (final)' if document.get('final') else ''}")
        for seal in result["seals"]:
            mark = "ok " if seal["ok"] else "BAD"
            signer = seal["signer"].get("CN", "")
            click.echo(f"  {mark} {seal['field']}: {signer} at {seal['signed_at']}"
                       f"{' (trusted time)' if seal['signing_time_trusted'] else ''} "
                       f"certificate {seal['certificate_status']}")
        for problem in result["problems"]:
            click.echo(f"  problem: {problem}")
    sys.exit(0 if result["genuine"] else 1)
