from rest_framework.routers import DefaultRouter

from .api import ModerationViewSet, VerificationViewSet

router = DefaultRouter()
router.register("verifications", VerificationViewSet, basename="verification")
router.register("moderation", ModerationViewSet, basename="moderation")

urlpatterns = router.urls
