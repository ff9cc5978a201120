"""The client's address, one rule for every per-address limit (lockouts, throttles) and the read audit.

Behind ``settings.NUM_PROXIES`` trusted proxies, each appends the address it got the request from to
X-Forwarded-For, so the client is the NUM_PROXIES-th entry from the right: anything further left was written by
the client and is never trusted. Without proxies (NUM_PROXIES = 0) it is REMOTE_ADDR. This is DRF's rule
(``BaseThrottle.get_ident``), used by django-axes too (settings.AXES_CLIENT_IP_CALLABLE): before, axes read
REMOTE_ADDR behind a proxy, so that five guesses from one client locked everyone behind it out.
"""

import ipaddress

from django.conf import settings


def valid_address(text):
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request):
    """The client's address as the trusted proxies give it, or None when the server gave no valid one."""
    remote = valid_address(request.META.get("REMOTE_ADDR", ""))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.NUM_PROXIES
    if not proxies or not forwarded:
        return remote
    hops = forwarded.split(",")
    # A proxy that wrote nothing valid is a misconfiguration: fall back to the connection's own address.
    return valid_address(hops[-min(proxies, len(hops))]) or remote
