from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = "Safety and moderation"

    def ready(self) -> None:
        from voicegate.jobs import register_reaper

        from . import receivers  # noqa: F401  (connects the generation_completed receiver)

        register_reaper("safety.services.reap_expired_verifications")
