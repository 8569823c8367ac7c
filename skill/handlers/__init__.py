"""Thin ASK handlers, one module per intent family. Each maps requests to routine events."""
