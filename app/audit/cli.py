"""``flask audit``: verify the ledger, export signed checkpoints and the public key that checks them.

Each command prints one line and exits 1 on any problem, so operators can script it (a nightly
``flask audit checkpoint --out …`` to storage the database cannot reach, ``flask audit verify
--checkpoint …`` after every restore).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.audit import service
from app.audit.checkpoint import CheckpointError, key_id, public_pem
from app.durable_files import write_atomically
from app.extensions import db

audit_cli = AppGroup("audit", help="The audit ledger: verify it, export signed checkpoints.")


def _fail(message: str) -> None:
    click.echo(message)
    sys.exit(1)


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A signed checkpoint: also detect a truncated or rewritten tail.",
)
@click.option(
    "--pubkey",
    "pubkey_path",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM public key for the checkpoint (default: the public half of MADOGUCHI_AUDIT_KEY).",
)
def verify(checkpoint_path: str | None, pubkey_path: str | None):
    """Check the whole chain; name the first broken entry."""
    checkpoint = None
    if checkpoint_path:
        try:
            public_pem = Path(pubkey_path).read_bytes() if pubkey_path else None
            checkpoint = service.read_checkpoint(Path(checkpoint_path).read_text(encoding="utf-8"), public_pem)
        except (CheckpointError, UnicodeDecodeError) as exc:
            _fail(f"BAD CHECKPOINT: {exc}")
    try:
        result = service.verify_chain(checkpoint=checkpoint.as_dict() if checkpoint else None)
    finally:
        db.session.rollback()
    if not result.ok:
        _fail(f"BROKEN at seq {result.broken_seq}: {result.reason}")
    suffix = f", checkpoint {checkpoint.size} ok" if checkpoint else ""
    click.echo(f"ok: {result.count} events, head {result.head}{suffix}")


@audit_cli.command("checkpoint")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="File to write.")
def checkpoint(out: str):
    """Verify the chain, then write a checkpoint of its head signed with MADOGUCHI_AUDIT_KEY."""
    try:
        result, note = service.signed_checkpoint()
    except CheckpointError as exc:
        _fail(f"error: {exc}")
    finally:
        db.session.rollback()
    if note is None:
        _fail(f"BROKEN at seq {result.broken_seq}: {result.reason} (no checkpoint written)")
    try:
        # Public data, mode 0644: the audit section's tools must be able to read it.
        write_atomically(Path(out).resolve(), note.encode(), mode=0o644)
    except OSError as exc:
        _fail(f"error: cannot write {out}: {exc.strerror}")
    click.echo(f"checkpoint: {result.count} events, head {result.head} -> {out}")


@audit_cli.command("pubkey")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="File to write.")
def pubkey(out: str):
    """Write the PEM public key that verifies the checkpoints."""
    try:
        key = service.audit_key()
    except CheckpointError as exc:
        _fail(f"error: {exc}")
    try:
        write_atomically(Path(out).resolve(), public_pem(key).encode(), mode=0o644)
    except OSError as exc:
        _fail(f"error: cannot write {out}: {exc.strerror}")
    click.echo(f"public key {key_id(key.public_key()).hex()} -> {out}")
