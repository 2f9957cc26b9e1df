from rest_framework.routers import DefaultRouter

from consent.api import ConsentViewSet, ProtectedVoiceViewSet, VoiceOwnerViewSet, VoiceViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("owners", VoiceOwnerViewSet, basename="voice-owner")
router.register("voices", VoiceViewSet, basename="voice")
router.register("consents", ConsentViewSet, basename="consent")
router.register("protected-voices", ProtectedVoiceViewSet, basename="protected-voice")

urlpatterns = router.urls
