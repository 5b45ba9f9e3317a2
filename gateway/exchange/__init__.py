"""The exchange itself: decide, redact and audit each batch of input records (pure; no I/O).

:class:`ExchangeProcessor` turns a batch of :class:`InputMessage` into :class:`BatchOutputs`: the
audit records, the routed :class:`OutputMessage` values and the dead letters, which the transport
writes before it commits the input offsets. :class:`TokenSigner` issues and checks the approval
tokens that tie a reply to its request; :class:`SeenIds` remembers recent request ids so a
duplicate is refused; :func:`audit_safe` keeps reason text fit for the audit log.
"""

from gateway.exchange.dedupe import SeenIds
from gateway.exchange.messages import BatchOutputs, InputMessage, OutputMessage
from gateway.exchange.observer import ExchangeObserver
from gateway.exchange.processor import ExchangeProcessor
from gateway.exchange.reasons import audit_safe
from gateway.exchange.tokens import TokenSigner

__all__ = [
    "BatchOutputs",
    "ExchangeObserver",
    "ExchangeProcessor",
    "InputMessage",
    "OutputMessage",
    "SeenIds",
    "TokenSigner",
    "audit_safe",
]
