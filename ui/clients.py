"""Who a request comes from, for its share of the job queue: one rule for REST and the page.

A client is its address, whatever bearer token it sends: nothing here checks
a token (the app's shared access token, when set, is the same for every
client), so a client that sent a new one with each request would pass for as
many clients and fill the queue alone. The address is the connection's,
unless the app sits behind proxies: then it is the one the nearest trusted
proxy wrote into ``X-Forwarded-For``. Each proxy appends the address it got
the request from, so only the last ``trusted_proxy_hops`` entries were
written by proxies; whatever comes before them the client may have written
itself (a client that sends ``X-Forwarded-For: 1.2.3.4`` must not pass for
someone else, nor for many clients at once).

Example:
    >>> forwarded_address("6.6.6.6, 203.0.113.7", hops=1)
    '203.0.113.7'
    >>> forwarded_address("6.6.6.6, 203.0.113.7, 10.0.0.2", hops=2)
    '203.0.113.7'
    >>> forwarded_address("", hops=1) is None, forwarded_address("6.6.6.6", hops=0) is None
    (True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

from ui.settings import Settings


def forwarded_address(header: str, hops: int) -> str | None:
    """The client's address as the nearest of ``hops`` trusted proxies saw it.

    Args:
        header: The ``X-Forwarded-For`` value (comma-separated, oldest first).
        hops: How many proxies in front of the app append to it (0: none is trusted).

    Returns:
        The ``hops``-th entry from the right; None when there is no trusted
        proxy or the header has fewer entries than there are proxies (the
        request did not come through them all).
    """
    entries = [entry.strip() for entry in header.split(",") if entry.strip()]
    if hops < 1 or len(entries) < hops:
        return None
    return entries[-hops]


def client_key(headers: Mapping[str, str], peer: str | None, settings: Settings) -> str:
    """The key a request's jobs count against in the queue (``address:...``).

    Args:
        headers: The request's headers (names in lower case, as ASGI gives them).
        peer: The address the connection comes from.
        settings: The trusted proxies.
    """
    hops = settings.trusted_proxy_hops
    address = forwarded_address(headers.get("x-forwarded-for", ""), hops) or peer or ""
    return "address:" + address
