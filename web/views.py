from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from web.context import navigation


@login_required
def home(request):
    """Send each person to the first page their role opens."""
    items = navigation(request)["nav_items"]
    if items:
        return redirect(items[0]["url"])
    return render(request, "web/home.html")
