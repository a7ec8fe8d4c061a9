"""``flask worker [--once]``: the background worker."""

from __future__ import annotations

import click

from app.jobs.worker import run_due, run_forever


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
def worker_command(once: bool):
    """Run background jobs (rendering, sealing, mail) and the delivery outbox."""
    if once:
        count = run_due()
        click.echo(f"ran {count} job(s)")
        return
    click.echo("worker started; Ctrl-C to stop")
    run_forever()
