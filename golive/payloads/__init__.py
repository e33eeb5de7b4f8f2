"""Payload builders: what real systems send, byte for byte where it matters."""
