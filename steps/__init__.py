"""Step definitions, grouped by actor. One line each: they call golive.actions or golive.checks."""
