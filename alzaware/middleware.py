"""How long the app took for each answer, in the standard ``Server-Timing`` header (browsers' developer tools
show it; tools/load_test.py reads it to tell the server's time from the network's)."""

import time


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
