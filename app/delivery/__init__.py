"""Background work: the job table (outbox), its worker, and the channels that leave the service."""
