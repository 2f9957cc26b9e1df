from django.contrib.auth import views as auth_views
from django.urls import path

from voicegate.accounts.forms import SignInForm

from . import views
from .pages import audit, moderation, studio, voices

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True,
                                                authentication_form=SignInForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("moderation/", moderation.desk, name="moderation"),
    path("moderation/verifications/<uuid:verification_id>/", moderation.verification_report, name="verification"),
    path("moderation/verifications/<uuid:verification_id>/decide/", moderation.decide, name="verification-decide"),
    path("moderation/verifications/<uuid:verification_id>/assign/", moderation.assign_to_me,
         name="verification-assign"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/chain/", audit.chain_status, name="audit-chain"),
    path("studio/", studio.studio, name="studio"),
    path("studio/generations/<uuid:generation_id>/status/", studio.generation_status, name="generation-status"),
    path("studio/pronunciation/", studio.pronunciation, name="pronunciation"),
    path("voices/", voices.voice_list, name="voices"),
    path("voices/check/", voices.check_recording, name="check-recording"),
    path("voices/<uuid:voice_id>/", voices.voice_detail, name="voice"),
    path("voices/<uuid:voice_id>/enrollment/", voices.enrollment_status, name="voice-enrollment"),
    path("voices/<uuid:voice_id>/statement/<uuid:challenge_id>/", voices.statement, name="statement"),
    path("voices/<uuid:voice_id>/consents/<uuid:consent_id>/revoke/", voices.revoke, name="consent-revoke"),
    path("voices/<uuid:voice_id>/consents/<uuid:consent_id>/approve/", voices.approve, name="consent-approve"),
    path("voices/<uuid:voice_id>/consents/<uuid:consent_id>/statement.audio", voices.statement_audio,
         name="statement-audio"),
    path("voices/<uuid:voice_id>/references/<uuid:clip_id>.audio", voices.reference_audio, name="reference-audio"),
]
