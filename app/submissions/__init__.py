"""A resident's filled-in form: drafts, submit, receipt numbers, attachments, status page."""
