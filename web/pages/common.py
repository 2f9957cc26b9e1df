"""Helpers shared by the pages: service errors shown on forms, files served from storage."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from django import forms
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from voicegate.errors import DomainError, NotFound

T = TypeVar("T")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that accepts several files (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if not data:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


def call_service(form: forms.Form, action: Callable[[], T]) -> T | None:
    """Run a service call; a DomainError becomes a form error with the service's own message."""
    try:
        return action()
    except NotFound:
        raise Http404
    except DomainError as exc:
        form.add_error(None, exc.message)
        return None


def storage_file(name: str, *, filename: str, content_type: str | None = None,
                 as_attachment: bool = False) -> FileResponse:
    """Serve a stored file through Django (local folder or S3 alike; never .path())."""
    if not name or not default_storage.exists(name):
        raise Http404(_("the audio file is no longer stored"))
    response = FileResponse(default_storage.open(name, "rb"), as_attachment=as_attachment, filename=filename,
                            content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response
