"""MASH Exchange: the shared core (wire format, keys, transport, policy, log, collator, runtime)."""

__version__ = "0.1.0"
