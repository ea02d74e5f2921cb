"""Background work as rows in a table: enqueue, claim, report progress, finish."""
