"""What every request and response gets, so that no single view has to remember it."""

import time

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def private_by_default(get_response):
    """Every page and API answer may hold patient data: never stored by a shared cache or the browser's disk.

    A view that knows better (a colour bar with nothing personal in it) sets its own Cache-Control.
    """

    def middleware(request):
        response = get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        return response

    return middleware


# Room for the multipart framing and the form's other fields around the largest accepted file.
FORM_OVERHEAD_BYTES = 64 * 1024


def limit_request_body(get_response):
    """Refuse a request whose declared body is larger than any accepted upload, before anything reads it.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE leaves file data out, and the CSRF check parses a form's body
    before any view runs; this answers first (HTTP 413), so a 200 MB body is never read. Django reads no more
    than Content-Length, so a body cannot be longer than it says.
    """
    from mri.io import errors, log_refusal

    def middleware(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
        if length <= limit:
            return get_response(request)
        refused = errors.too_large(settings.MAX_UPLOAD_BYTES).because("too_large", length, limit)
        log_refusal(refused, "A request body")
        if request.path.startswith("/api/"):
            return JsonResponse(errors.error_body(refused.code, refused.message), status=413)
        return render(request, "too_large.html", {"message": refused.message}, status=413)

    return middleware

class ServerTimingMiddleware:
    """How long the app took for each answer, in the standard ``Server-Timing`` header (browsers' developer
    tools show it; benchmarks/load_test.py reads it to tell the server's time from the network's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
