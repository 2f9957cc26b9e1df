from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "voicegate.web"
    label = "web"
    verbose_name = "Web UI"
