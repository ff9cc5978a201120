"""A real SMTP server for the e-mail tests: aiosmtpd on a free loopback port, in its own thread, with Django's
SMTP backend pointed at it. What it received is kept as parsed messages."""

import email
import email.policy
import socket

from aiosmtpd.controller import Controller
from django.test import override_settings
from django_tasks_db.models import DBTaskResult


class Inbox:
    """aiosmtpd's handler: every message the server accepted, parsed, in order."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address):
        return [message for recipients, message in self.messages if address in recipients]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RealSMTP:
    """Mixin: ``self.inbox`` of a real SMTP server running for the class, and Django sending through it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inbox = Inbox()
        cls.smtp_port = free_port()
        cls.smtp = Controller(cls.inbox, hostname="127.0.0.1", port=cls.smtp_port)
        cls.smtp.start()
        cls.smtp_settings = override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=cls.smtp_port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=5, SITE_URL="https://alzaware.example")
        cls.smtp_settings.enable()

    @classmethod
    def tearDownClass(cls):
        cls.smtp_settings.disable()
        cls.smtp.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.inbox.messages.clear()


def run_task_worker():
    """What `manage.py db_worker` does with each queued task that is due: claim it, run it, record the outcome.

    Its own loop opens an exclusive SQLite transaction, which a TestCase (itself a transaction) cannot; the
    real command runs in tests.test_background_tasks.WorkerTests.
    """
    while (queued := DBTaskResult.objects.ready().order_by("-priority", "enqueued_at").first()) is not None:
        queued.claim("tests")
        try:
            queued.set_successful(queued.task.call(*queued.task_result.args, **queued.task_result.kwargs))
        except Exception as failure:
            queued.set_failed(failure)


def body_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()
