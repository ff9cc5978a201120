"""API tokens: they expire after settings.API_TOKEN_LIFETIME, and a password change or the account page's
"Sign out of the API" revokes them. The image views take them too, so that an answer's ``heatmap_url``
can be fetched with the token that got it."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models.signals import pre_save
from django.http import JsonResponse
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def expired(token):
    return token.created + settings.API_TOKEN_LIFETIME <= timezone.now()


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, refused once the token is older than its lifetime."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if expired(token):
            token.delete()
            raise AuthenticationFailed("This token has expired. Ask /api/token/ for a new one.")
        return user, token


def issue_token(user):
    """The user's token, a new one if there was none or it had expired."""
    token = Token.objects.filter(user=user).first()
    if token is not None and expired(token):
        token.delete()
        token = None
    return token or Token.objects.create(user=user)


def revoke_tokens(user):
    """Sign ``user`` out of the API everywhere; the number of tokens removed."""
    return Token.objects.filter(user=user).delete()[0]


def revoke_on_password_change(sender, instance, update_fields=None, **kwargs):
    """Whatever changes a password (the change form, a reset link, the admin), the old tokens stop working."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        revoke_tokens(instance)


def connect_signals(user_model):
    pre_save.connect(revoke_on_password_change, sender=user_model, dispatch_uid="revoke-tokens-on-password")


def login_or_token_required(view):
    """``login_required`` that also accepts the API's token header; a bad or expired token is a 401."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated and get_authorization_header(request):
            try:
                found = ExpiringTokenAuthentication().authenticate(request)
            except AuthenticationFailed as failed:
                return JsonResponse({"error": "not_authenticated", "detail": str(failed.detail)}, status=401)
            if found is not None:
                request.user = found[0]
        return login_required(view)(request, *args, **kwargs)

    return wrapped
