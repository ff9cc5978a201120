"""A scripted HTTP session against a running AlzAware server, as a patient would use it.

    EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend EMAIL_FILE_PATH=/tmp/alzaware-mail make run
    python -m benchmarks.smoke_session [http://127.0.0.1:8000] --mail-dir /tmp/alzaware-mail

Signs up two new patients, each following the confirmation link of their e-mail and logging in, uploads a
drawn slice as the first, follows to the result, opens the history, fetches both images, checks the second
patient gets 404 for the first one's overlay, signs up again with the first one's address (the same answer,
no second account, a note to the owner instead), then calls POST /api/predict with a token.
Exits non-zero at the first step that does not behave.

The e-mails are read where the server's file-based e-mail backend writes them (``--mail-dir``, the server's
EMAIL_FILE_PATH; the task worker must run beside the server, as ``make run`` and ``make serve`` start it): the
same messages a patient would get, sent the way they would be, with no way round the confirmation.
"""

import argparse
import email
import email.policy
import http.cookiejar
import io
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

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


# How long the task worker may take to send an e-mail (it looks for work every second or so).
MAIL_WAIT_SECONDS = 60
CONFIRMATION = re.compile(r"https?://[^/\s]+(/accounts/confirm/[^/\s]+/[^/\s]+/)")


def messages_to(mail_dir, address):
    """``[(subject, body)]`` of every message the file-based backend wrote to ``address``, oldest first."""
    found = []
    for path in sorted(Path(mail_dir).glob("*.log"), key=lambda p: p.stat().st_mtime):
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = email.message_from_bytes(raw.strip(), policy=email.policy.default)
                if str(message["To"]).lower() == address.lower():
                    found.append((str(message["Subject"]), message.get_body(("plain",)).get_content()))
    return found


def wait_for_mail(mail_dir, address, subject_starts, seen=0):
    """The body of the first message to ``address`` after the ``seen`` first ones whose subject starts so."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for subject, body in messages_to(mail_dir, address)[seen:]:
            if subject.startswith(subject_starts):
                return body
        time.sleep(0.5)
    step(False, f"an e-mail '{subject_starts}…' to {address} in {mail_dir} within {MAIL_WAIT_SECONDS} s "
                "(is the task worker running, and the server's EMAIL_FILE_PATH this folder?)")


def sign_up(browser, email):
    """Post the sign-up form: the answer is "check your e-mail", whether the address was new or not."""
    status, url, body, _ = browser.post_form("/accounts/signup/", {
        "first_name": "Smoke", "last_name": "Test", "email": email, "date_of_birth": "01/01/1950",
        "sex": "O", "password1": PASSWORD, "password2": PASSWORD, "consent": "on",
    })
    step(status == 200 and url.endswith("/accounts/confirm/") and b"Please check your e-mail" in body,
         f"sign up {email} -> {url}")
    return body


def log_in(browser, email, next_path="/assessments/new/"):
    path = f"/accounts/login/?next={next_path}"
    status, url, _, _ = browser.post_form(path, {"username": email, "password": PASSWORD})
    step(status == 200 and url.endswith(next_path), f"log in {email} -> {url}")


def new_patient(browser, email, mail_dir):
    """Sign up, follow the link of the confirmation e-mail, log in: what a new patient does before a scan."""
    sign_up(browser, email)
    link = CONFIRMATION.search(wait_for_mail(mail_dir, email, "Please confirm")).group(1)
    status, url, body, _ = browser.request(link)
    step(status == 200 and "/accounts/login/" in url and b"your e-mail address is confirmed" in body,
         f"confirmation link -> {url}")
    log_in(browser, email)


def main(base, mail_dir):
    scan = drawn_slice()
    first, second = Browser(base), Browser(base)
    email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    new_patient(first, email, mail_dir)
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
    new_patient(second, f"smoke-{uuid.uuid4().hex[:8]}@example.com", mail_dir)
    status, _, _, _ = second.request(overlay)
    step(status == 404, f"second patient gets {status} for {overlay}")
    taken(base, email, mail_dir)
    status, _, body, _ = first.request("/api/token/", json.dumps({"email": email, "password": PASSWORD}).encode(),
                                       "application/json")
    token = json.loads(body)["token"]
    body, content_type = multipart({}, {"file": ("scan.png", scan, "image/png")})
    status, _, body, _ = Browser(base).request("/api/predict", body, content_type,
                                               {"Authorization": f"Token {token}"})
    result = json.loads(body)
    step(status == 200 and {"prediction", "confidence", "class_probabilities", "heatmap_url"} <= set(result),
         f"POST /api/predict -> {status} {json.dumps(result)}")


def taken(base, email, mail_dir):
    """A sign-up with a registered address (in capitals) answers as one with a new address, and the owner is told."""
    before = len(messages_to(mail_dir, email))
    stranger = Browser(base)
    answer = sign_up(stranger, email.upper())
    new_answer = sign_up(Browser(base), f"smoke-{uuid.uuid4().hex[:8]}@example.com")
    # The page names the address typed; with it taken out, the two answers must be the same to the byte.
    anonymous = re.compile(rb"smoke-\w+@example\.com")
    step(anonymous.sub(b"@", answer) == anonymous.sub(b"@", new_answer), "a taken address and a new one get the same page")
    note = wait_for_mail(mail_dir, email, "Someone tried", seen=before)
    step("/accounts/password_reset/" in note, "the owner of the taken address is told, with the reset link")
    _, url, _, _ = stranger.request("/assessments/")
    step("/accounts/login/" in url, f"the stranger is not logged in (/assessments/ -> {url})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", nargs="?", default="http://127.0.0.1:8000")
    ap.add_argument("--mail-dir", required=True, help="the server's EMAIL_FILE_PATH (file-based e-mail backend)")
    args = ap.parse_args()
    main(args.base, args.mail_dir)
