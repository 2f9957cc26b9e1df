from django.apps import AppConfig


class SynthesisConfig(AppConfig):
    name = "synthesis"
    verbose_name = "Synthesis"

    def ready(self) -> None:
        from synthesis import receivers  # noqa: F401  (connects the consent receivers)
        from voicegate.jobs import register_reaper

        register_reaper("synthesis.services.reap_expired_generations")  # jobs and enrollments
