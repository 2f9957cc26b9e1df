from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from voicegate.accounts.api import ApiTokenViewSet, MeView, MemberViewSet
from voicegate.audit.api import AuditEntryViewSet
from voicegate.health import healthz

router = DefaultRouter()
router.register("tokens", ApiTokenViewSet, basename="token")
router.register("members", MemberViewSet, basename="member")
router.register("audit", AuditEntryViewSet, basename="audit")

api_v1 = [
    path("me/", MeView.as_view(), name="me"),
    path("", include("consent.urls")),
    path("", include("synthesis.urls")),
    path("", include("watermark.urls")),
    path("", include("safety.urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("synthesis.tts_urls")),
    path("", include("web.urls")),
]

# JSON for API paths (an oversized body is 413), the site's pages elsewhere: voicegate.errors.
handler400 = "voicegate.errors.bad_request"
handler500 = "voicegate.errors.server_error"
