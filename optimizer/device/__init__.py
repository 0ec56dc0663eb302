"""The xStorage Home device: an httpx client (``client``), pure command builders (``commands``),
typed reads (``models``), TLS pinning (``tls``) and an HTTPS simulator (``simulator``)."""

from optimizer.device.client import ClientOptions, CommandResult, XStorageClient, open_client
from optimizer.device.tls import CertificateMismatch, fetch_fingerprint

__all__ = [
    "CertificateMismatch",
    "ClientOptions",
    "CommandResult",
    "XStorageClient",
    "fetch_fingerprint",
    "open_client",
]
