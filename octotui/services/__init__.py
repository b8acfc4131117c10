"""Services: every user action as one command in exactly one unit of work, and the reads the UI needs."""
