"""Evidence: what a run leaves under reports/<run-id>/ for go-live sign-off."""
