"""A scripted HTTP session against a running AlzAware server, as a patient would use it.

    python -m benchmarks.smoke_session [http://127.0.0.1:8000]

Signs up two new patients, uploads a drawn slice as the first, follows to the
result, opens the history, fetches both images, checks the second patient gets
404 for the first one's overlay, then calls POST /api/predict with a token.
Exits non-zero at the first step that does not behave.
"""

import http.cookiejar
import io
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import numpy as np
from PIL import Image, ImageDraw

PASSWORD = "Smoke-test-pass-phrase-1"


def drawn_slice():
    image = Image.new("L", (176, 208), 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse([20, 18, 156, 190], fill=170)
    draw.ellipse([70, 74, 84, 124], fill=40)
    draw.ellipse([92, 74, 106, 124], fill=40)
    pixels = np.asarray(image, np.float32) + np.random.default_rng(0).normal(0, 8, (208, 176)) * (np.asarray(image) > 0)
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(np.clip(pixels, 0, 255))).save(buffer, format="PNG")
    return buffer.getvalue()


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, content_type) in files.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: {content_type}\r\n\r\n".encode())
        body.write(data + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


class Browser:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path, data=None, content_type=None, headers=None):
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, headers=dict(headers or {}))
        if content_type:
            req.add_header("Content-Type", content_type)
        if data is not None:
            req.add_header("Referer", url)
        try:
            with self.opener.open(req) as response:
                return response.status, response.geturl(), response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, url, error.read(), error.headers

    def csrf(self, path):
        self.request(path)
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def post_form(self, path, fields, files=None):
        fields = {"csrfmiddlewaretoken": self.csrf(path), **fields}
        if files:
            body, content_type = multipart(fields, files)
        else:
            body, content_type = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        return self.request(path, body, content_type)


def step(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        sys.exit(1)


def sign_up(browser, email):
    status, url, _, _ = browser.post_form("/accounts/signup/", {
        "first_name": "Smoke", "last_name": "Test", "email": email, "date_of_birth": "1950-01-01",
        "sex": "O", "password1": PASSWORD, "password2": PASSWORD,
    })
    step(status == 200 and url.endswith("/assessments/new/"), f"sign up {email} -> {url}")


def main(base):
    scan = drawn_slice()
    first, second = Browser(base), Browser(base)
    email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(first, email)
    status, url, body, _ = first.post_form("/assessments/new/", {}, {"scan": ("scan.png", scan, "image/png")})
    step(status == 200 and re.search(r"/assessments/\d+/$", url) is not None, f"upload -> result page {url}")
    page = body.decode()
    step("Original MRI" in page and "Heatmap Overlay" in page and "not a diagnosis" in page,
         "result page shows both images and the notice")
    result_path = urllib.parse.urlparse(url).path
    status, _, body, _ = first.request("/assessments/")
    step(status == 200 and result_path in body.decode(), "history lists the result")
    overlay = result_path + "overlay.png"
    for path in (result_path + "scan.png", overlay):
        status, _, body, headers = first.request(path)
        step(status == 200 and body[:4] == b"\x89PNG", f"owner fetches {path} ({len(body)} bytes PNG)")
    sign_up(second, f"smoke-{uuid.uuid4().hex[:8]}@example.com")
    status, _, _, _ = second.request(overlay)
    step(status == 404, f"second patient gets {status} for {overlay}")
    status, _, body, _ = first.request("/api/token/", json.dumps({"email": email, "password": PASSWORD}).encode(),
                                       "application/json")
    token = json.loads(body)["token"]
    body, content_type = multipart({}, {"file": ("scan.png", scan, "image/png")})
    status, _, body, _ = Browser(base).request("/api/predict", body, content_type,
                                               {"Authorization": f"Token {token}"})
    result = json.loads(body)
    step(status == 200 and {"prediction", "confidence", "class_probabilities", "heatmap_url"} <= set(result),
         f"POST /api/predict -> {status} {json.dumps(result)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
