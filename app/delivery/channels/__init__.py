"""Delivery channels, one module each: fax_email (T.37 e-mail-to-fax), fax_spool (a fax server's
spool folder), email (PDF attached), webhook (signed JSON). See base.py for the interface."""

from app.delivery.channels import email, fax_email, spool, webhook
from app.delivery.channels.base import Channel, Outgoing, PermanentDeliveryFailure

CHANNEL_MODULES: dict[str, Channel] = {"fax_email": fax_email, "fax_spool": spool, "email": email,
                                       "webhook": webhook}

__all__ = ["CHANNEL_MODULES", "Channel", "Outgoing", "PermanentDeliveryFailure"]
