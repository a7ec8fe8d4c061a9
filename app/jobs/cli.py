"""``flask worker [--once]``: the background worker."""

from __future__ import annotations

import signal

import click

from app.jobs.worker import request_stop, run_due, run_forever


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
def worker_command(once: bool):
    """Run background jobs (rendering, sealing, mail) and the delivery outbox."""
    if once:
        count = run_due()
        click.echo(f"ran {count} job(s)")
        return
    signal.signal(signal.SIGTERM, request_stop)  # finish the job in hand, then exit
    click.echo("worker started; Ctrl-C to stop")
    run_forever()
    click.echo("worker stopped")
