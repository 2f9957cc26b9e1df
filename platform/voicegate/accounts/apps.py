from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "voicegate.accounts"
    label = "accounts"
    verbose_name = "Organisations and members"

    def ready(self) -> None:
        from voicegate import startup  # noqa: F401  (registers the start-up checks)

        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
        from .forms import AdminSignInForm
        from .lockout import on_logged_in, on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="voicegate-lockout-failed")
        user_logged_in.connect(on_logged_in, dispatch_uid="voicegate-lockout-cleared")
        admin.site.login_form = AdminSignInForm  # organisation + username + password, with the lockout
        admin.site.login_template = "accounts/admin_login.html"
