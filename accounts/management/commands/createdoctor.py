import getpass
import os

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User, doctors_group

# Doctors review; they never edit or delete what a patient submitted.
DOCTOR_PERMISSIONS = [("accounts", "view_patient"), ("assessments", "view_assessment")]


def grant_doctor_permissions(group):
    for app_label, codename in DOCTOR_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class Command(BaseCommand):
    help = "Create a doctor: a staff user (not a superuser) in the Doctors group who can view assigned patients."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--password", help="Taken from the DOCTOR_PASSWORD variable or asked for when not given."
        )

    @transaction.atomic
    def handle(self, *args, email, first_name, last_name, password, **options):
        email = email.strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"A user with e-mail {email} already exists.")
        password = password or os.environ.get("DOCTOR_PASSWORD") or getpass.getpass("Password: ")
        if not password:
            raise CommandError("A password is required.")
        # All or nothing: a doctor without the group's permissions would be an account that cannot review.
        with transaction.atomic():
            doctor = User.objects.create_user(
                email=email, password=password, first_name=first_name, last_name=last_name, is_staff=True
            )
            group = doctors_group()
            grant_doctor_permissions(group)
            doctor.groups.add(group)
        self.stdout.write(self.style.SUCCESS(
            f"Doctor {email} created. Patients share with them from their Sharing page (an e-mail invitation, or the "
            "code on the doctor's own Sharing page); a superuser may also assign them in the admin (Patients → doctors)."
        ))
