from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "voicegate.audit"
    label = "audit"
    verbose_name = "Audit trail"
