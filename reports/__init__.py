"""Trial report."""
