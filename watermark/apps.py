from django.apps import AppConfig


class WatermarkConfig(AppConfig):
    name = "watermark"
    verbose_name = "Watermark and provenance"
