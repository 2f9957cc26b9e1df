from django.apps import AppConfig


class SynthesisConfig(AppConfig):
    name = "synthesis"
    verbose_name = "Synthesis"

    def ready(self) -> None:
        from synthesis import receivers  # noqa: F401  (connects the consent receivers)
