from voicegate.accounts.models import member_name
from voicegate.accounts.services import create_organisation
from voicegate.commands import JsonCommand


class Command(JsonCommand):
    help = "Create an organisation and its first admin; prints the admin's API token once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--admin", required=True,
                            help="username of the first admin (unique within the organisation; they sign in with "
                                 "the organisation's name, this username and the password)")
        parser.add_argument("--password", help="optional password for web sign-in (min. 10 characters)")
        parser.add_argument("--email", default="")

    def run(self, **options):
        created = create_organisation(options["name"], options["admin"], admin_password=options.get("password"),
                                      admin_email=options["email"])
        return {"org_id": str(created.organisation.pk), "admin": member_name(created.admin),
                "api_token": created.api_token.raw}
