"""The service runtime shared by the firewall, the collator and every agency adapter."""

from hub.runtime.service import Handler, Outgoing, ServiceRunner
from hub.runtime.settings import ServiceSettings

__all__ = ["Handler", "Outgoing", "ServiceRunner", "ServiceSettings"]
