"""One client per system, each on an injected `httpx.Client` (the seam for respx)."""
