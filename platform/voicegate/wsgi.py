import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
application = get_wsgi_application()

from voicegate.startup import verify_configuration  # noqa: E402  (needs Django set up)

verify_configuration()
