from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "voicegate.accounts"
    label = "accounts"
    verbose_name = "Organisations and members"

    def ready(self) -> None:
        from voicegate import startup  # noqa: F401  (registers the start-up checks)

        from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
