"""Fax through a fax server's spool folder (HylaFAX, or any that watches a folder).

For each delivery two files land in ``MADOGUCHI_SPOOL_PATH``, written by the worker that sends the
delivery and by nothing else. Production must name the folder (the fax server's, shared with it): a
default inside one node's instance folder would strand the faxes of that node, so without it the
delivery goes dead, visibly. Development defaults to ``instance/spool/``. The files:
``<key>.tif`` (TIFF-F, MMR/G4, fine) and ``<key>.json`` (the job: number, receipt, attempt), where
``<key>`` is the idempotency key with ':' replaced by '_'. Each is written to a temporary file,
fsynced and renamed, the description last, so a fax server that picks up ``.json`` files never sees a
half-written raster. A resend replaces both files under the same names (a server that has not yet
picked up the first copy sends only the second); its cover sheet reads 再送.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from app.db import utcnow
from app.delivery.channels.base import Outgoing, PermanentDeliveryFailure
from app.delivery.channels.fax_email import digits, render
from app.durable_files import sync_folder, write_atomically


@dataclass
class SpoolJob:
    folder: Path
    stem: str
    tiff: bytes
    description: dict


def stem_for(idempotency_key: str) -> str:
    return idempotency_key.replace(":", "_")


def prepare(outgoing: Outgoing) -> SpoolJob:
    folder = current_app.config["MADOGUCHI_SPOOL_PATH"]
    if not folder:
        raise PermanentDeliveryFailure("MADOGUCHI_SPOOL_PATH is not configured: production names the fax server's"
                                       " folder")
    number = digits(outgoing.fax_number)
    if not number:
        raise PermanentDeliveryFailure(f"destination {outgoing.destination_code} has no fax number")
    tiff = render(outgoing, "g4")
    description = {
        "idempotency_key": outgoing.idempotency_key,
        "number": number,
        "destination": outgoing.destination_code,
        "receipt_number": outgoing.receipt_number,
        "attempt": outgoing.attempt,
        "resend": outgoing.is_resend,
        "document_sha256": outgoing.document_sha256,
        "tiff_sha256": hashlib.sha256(tiff).hexdigest(),
        "resolution": "fine",
        "compression": "g4",
        "queued_at": utcnow().isoformat(),
    }
    return SpoolJob(Path(folder), stem_for(outgoing.idempotency_key), tiff, description)


def send(job: SpoolJob) -> str:
    job.folder.mkdir(parents=True, exist_ok=True)
    write_atomically(job.folder / f"{job.stem}.tif", job.tiff)
    write_atomically(job.folder / f"{job.stem}.json",
                     json.dumps(job.description, ensure_ascii=False, indent=2).encode() + b"\n")
    sync_folder(job.folder)
    return str(job.folder / f"{job.stem}.json")
