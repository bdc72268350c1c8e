"""Schedule: run site files on their cron expressions, one run per site at a time,
and remember every run (``newsarchive schedule``, ``newsarchive runs``)."""
