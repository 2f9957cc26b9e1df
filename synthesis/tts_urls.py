"""Site-root routes of synthesis: ``POST /tts`` (the source articles' API shape, consent-gated)."""
from django.urls import path

from synthesis.api import TtsView

urlpatterns = [path("tts", TtsView.as_view(), name="tts")]
