from django.urls import path
from rest_framework.routers import SimpleRouter

from synthesis.api import (EnrollmentListView, GenerationViewSet, LanguageListView, StockVoiceListView,
                           VoiceEnrollmentView)

router = SimpleRouter()
router.register("syntheses", GenerationViewSet, basename="synthesis")
router.register("enrollments", EnrollmentListView, basename="enrollment")
router.register("stock-voices", StockVoiceListView, basename="stock-voice")

urlpatterns = [
    path("languages/", LanguageListView.as_view(), name="languages"),
    path("voices/<uuid:voice_id>/enrollment/", VoiceEnrollmentView.as_view(), name="voice-enrollment"),
    *router.urls,
]
