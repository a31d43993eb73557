"""Sealed envelopes: AES-256-GCM payloads, HPKE-wrapped data keys, Ed25519 signatures."""

from hub.envelope.format import ENVELOPE_VERSION, Header
from hub.envelope.opener import Opened, Opener
from hub.envelope.sealer import Sealer

__all__ = ["ENVELOPE_VERSION", "Header", "Opened", "Opener", "Sealer"]
