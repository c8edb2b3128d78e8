"""The producer CLI: submit, status, results, retry."""
