"""Microsoft's Graph SDK for Python (msgraph-sdk) and azure-identity against a running lab,
configured as a user would configure them for a real tenant — only the authority, Graph's
base URL and the CA (REQUESTS_CA_BUNDLE / SSL_CERT_FILE) point at the lab.

  python graph_sdk.py LAB_JSON

An app (ClientSecretCredential) lists users, pages through devices/delta and creates a
Microsoft 365 group. resetPassword is delegated only (Graph refuses app-only tokens for
it), so the lab's Global Administrator signs in on the lab's sign-in page — as a browser
would: the authorize URL, the form, the redirect with a code — and the app redeems the code
(AuthorizationCodeCredential) to reset a synced user's password with the documented
authentication/methods/{id}/resetPassword call. Prints one line per check. Exits non-zero
on the first failure.
"""

import asyncio
import html.parser
import json
import secrets
import sys
import urllib.parse

import requests
from azure.identity import AuthorizationCodeCredential, ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.group import Group
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.item.authentication.methods.item.reset_password.reset_password_post_request_body import (
    ResetPasswordPostRequestBody,
)

SCOPES = ["https://graph.microsoft.com/.default"]
PASSWORD_METHOD = "28c10230-6103-485e-b985-444c60001490"
RESET_UPN = "david@gntech.me"


def check(ok, what):
    if not ok:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


class SignInForm(html.parser.HTMLParser):
    """The sign-in page's form: where it posts and its fields."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""


def sign_in(lab, upn, password, redirect_uri):
    """Sign in on the lab's page as a browser would; the code the page sends back."""
    params = {
        "client_id": lab["client_id"],
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "https://graph.microsoft.com/.default offline_access",
        "state": secrets.token_urlsafe(8),
    }
    page = requests.get(f"{lab['authority']}/oauth2/v2.0/authorize", params=params)
    check(page.status_code == 200 and "Sign in" in page.text, "the sign-in page is shown")
    form = SignInForm()
    form.feed(page.text)
    wrong = dict(form.fields, username=upn, password="not-the-password")
    answer = requests.post(form.action, data=wrong, allow_redirects=False)
    check(
        answer.status_code == 200 and "Your account or password is incorrect" in answer.text,
        "a wrong password is refused on the page",
    )
    fields = dict(form.fields, username=upn, password=password)
    answer = requests.post(form.action, data=fields, allow_redirects=False)
    check(answer.status_code == 302, f"signed in as {upn} (redirected back to the app)")
    location = urllib.parse.urlparse(answer.headers["Location"])
    query = urllib.parse.parse_qs(location.query)
    check(query.get("state") == [params["state"]], "the state came back")
    return query["code"][0]


def graph(lab, credential):
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=SCOPES, allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = lab["graph_url"]
    return GraphServiceClient(request_adapter=adapter)


async def as_app(lab):
    credential = ClientSecretCredential(
        lab["tenant_id"],
        lab["client_id"],
        lab["client_secret"],
        authority=lab["authority_host"],
        disable_instance_discovery=True,
    )
    client = graph(lab, credential)

    users = await client.users.get()
    upns = [u.user_principal_name for u in users.value]
    check(len(upns) >= 21 and "alice@gntech.me" in upns, f"users listed ({len(upns)})")

    page = await client.devices.delta.get()
    pages, devices = 1, len(page.value)
    while page.odata_next_link:
        page = await client.devices.delta.with_url(page.odata_next_link).get()
        pages += 1
        devices += len(page.value)
    check(
        page.odata_delta_link is not None and "deltatoken" in page.odata_delta_link,
        f"devices/delta paged to its deltaLink ({pages} pages, {devices} devices)",
    )

    group = Group(
        display_name="Lab Project Falcon",
        mail_nickname="lab-falcon",
        mail_enabled=True,
        security_enabled=False,
        group_types=["Unified"],
        description="Created by the Graph SDK check",
    )
    created = await client.groups.post(group)
    check(
        created.id is not None and created.mail == "lab-falcon@gntech.me",
        f"Microsoft 365 group created ({created.id})",
    )


async def as_admin(lab, new_password):
    redirect_uri = "http://localhost:8400/"
    code = sign_in(lab, lab["admin_upn"], lab["admin_user_password"], redirect_uri)
    credential = AuthorizationCodeCredential(
        lab["tenant_id"],
        lab["client_id"],
        code,
        redirect_uri,
        client_secret=lab["client_secret"],
        authority=lab["authority_host"],
    )
    client = graph(lab, credential)
    select = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
        select=["id", "userPrincipalName", "onPremisesSyncEnabled"]
    )
    user = await client.users.by_user_id(RESET_UPN).get(
        RequestConfiguration(query_parameters=select)
    )
    check(user.on_premises_sync_enabled, f"{RESET_UPN} is synced from AD")
    body = ResetPasswordPostRequestBody(new_password=new_password)
    await (
        client.users.by_user_id(user.id)
        .authentication.methods.by_authentication_method_id(PASSWORD_METHOD)
        .reset_password.post(body)
    )
    check(True, f"resetPassword accepted for {RESET_UPN}")


def main():
    lab = json.load(open(sys.argv[1]))
    new_password = sys.argv[2]
    asyncio.run(as_app(lab))
    asyncio.run(as_admin(lab, new_password))


if __name__ == "__main__":
    main()
