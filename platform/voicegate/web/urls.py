from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .pages import audit

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/chain/", audit.chain_status, name="audit-chain"),
]
