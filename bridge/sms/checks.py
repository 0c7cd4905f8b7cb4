"""Whether the Vonage account is set up as the bridge needs it: credentials, numbers, webhooks.

Each check is a read of the account API (https://developer.vonage.com/en/api/account,
/numbers, /application.v2); nothing is changed. Which webhook a text takes: with the SMS
API a number's own inbound URL, else the account's default; delivery receipts always the
account's. With the Messages API, the application the number is linked to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bridge.domain.checks import Check, failed, passed, skipped
from bridge.domain.numbers import format_number
from bridge.errors import SendError
from bridge.sms.client import VonageClient

CREDENTIALS_FIX = "copy the API key and secret from the Vonage dashboard's API Settings"
PAGE = 100  # the numbers API's largest page


@dataclass(frozen=True, slots=True)
class VonageSetup:
    """What the settings say the account should look like."""

    numbers: Sequence[str]
    has_api_key: bool
    application_id: str | None
    public_url: str | None


async def vonage_checks(client: VonageClient, setup: VonageSetup) -> list[Check]:
    if not setup.has_api_key:
        why = "set VONAGE_API_KEY and VONAGE_API_SECRET too, so the account can be looked at"
        return [skipped("Vonage: account, numbers and webhooks not checked", why)]
    try:
        status, balance, _ = await client.request(
            "GET", client.rest_host, "/account/get-balance", credentials="basic"
        )
        if status == 401:
            return [failed("Vonage refused the API key and secret", CREDENTIALS_FIX)]
        if status >= 300 or not isinstance(balance, dict):
            return [failed(f"Vonage answered HTTP {status} for the balance", "try again later")]
        checks = [passed(f"Vonage: the API key works (balance €{balance.get('value', 0):.2f})")]
        owned = await _owned_numbers(client)
        checks += _number_checks(setup.numbers, owned)
        checks += await _webhook_checks(client, setup, owned)
    except SendError as error:
        return [failed("Vonage did not answer", f"check the network ({error.reason})")]
    return checks


async def _owned_numbers(client: VonageClient) -> dict[str, dict[str, Any]]:
    owned: dict[str, dict[str, Any]] = {}
    index = 1
    while True:
        _, page, _ = await client.request(
            "GET",
            client.rest_host,
            "/account/numbers",
            credentials="basic",
            query={"size": str(PAGE), "index": str(index)},
        )
        numbers = (page or {}).get("numbers") or []
        owned |= {"+" + str(n.get("msisdn")): n for n in numbers if isinstance(n, dict)}
        if len(numbers) < PAGE or len(owned) >= int((page or {}).get("count") or 0):
            return owned
        index += 1


def _number_checks(numbers: Sequence[str], owned: dict[str, Any]) -> list[Check]:
    return [
        passed(f"Vonage: {format_number(number)} belongs to the account")
        if number in owned
        else failed(
            f"Vonage: {format_number(number)} is not one of the account's numbers",
            "check VONAGE_NUMBERS against the dashboard's Your Numbers",
        )
        for number in numbers
    ]


async def _webhook_checks(
    client: VonageClient, setup: VonageSetup, owned: dict[str, dict[str, Any]]
) -> list[Check]:
    if not setup.public_url:
        why = "set PUBLIC_URL to the bridge's public address to have them checked"
        return [skipped("Vonage: webhook URLs not checked", why)]
    base = setup.public_url.rstrip("/")
    inbound, status = f"{base}/vonage/inbound", f"{base}/vonage/status"
    if setup.application_id:
        return await _application_checks(client, setup, owned, inbound, status)
    _, account, _ = await client.request(
        "POST", client.rest_host, "/account/settings", credentials="basic", form={}
    )
    account = account if isinstance(account, dict) else {}
    checks = []
    for number in setup.numbers:
        details = owned.get(number)
        if details is None:
            continue
        goes_to = details.get("moHttpUrl") or account.get("mo-callback-url") or "nowhere"
        checks.append(
            _points(f"texts to {format_number(number)}", goes_to, inbound, "the number's Inbound")
        )
    receipts = account.get("dr-callback-url") or "nowhere"
    checks.append(_points("delivery receipts", receipts, status, "the account's Delivery receipts"))
    return checks


async def _application_checks(
    client: VonageClient,
    setup: VonageSetup,
    owned: dict[str, dict[str, Any]],
    inbound: str,
    status: str,
) -> list[Check]:
    app_id = setup.application_id
    checks = []
    for number in setup.numbers:
        details = owned.get(number) or {}
        linked = {details.get("app_id"), details.get("messagesCallbackValue")}
        if number in owned and app_id not in linked:
            checks.append(
                failed(
                    f"Vonage: {format_number(number)} is not linked to application {app_id}",
                    "link it under Applications → your application → Linked numbers",
                )
            )
    code, app, _ = await client.request(
        "GET", client.api_host, f"/v2/applications/{app_id}", credentials="basic"
    )
    if code >= 300 or not isinstance(app, dict):
        fix = "check VONAGE_APPLICATION_ID against the dashboard's Applications"
        return [*checks, failed(f"Vonage: application {app_id} not found (HTTP {code})", fix)]
    hooks = ((app.get("capabilities") or {}).get("messages") or {}).get("webhooks") or {}
    wanted = {"inbound_url": ("texts", inbound), "status_url": ("statuses", status)}
    for name, (what, expected) in wanted.items():
        address = (hooks.get(name) or {}).get("address") or "nowhere"
        checks.append(_points(f"the application's {what}", address, expected, "its Messages"))
    return checks


def _points(what: str, address: str, expected: str, where: str) -> Check:
    if address.rstrip("/") == expected:
        return passed(f"Vonage: {what} go to {expected}")
    return failed(f"Vonage: {what} go to {address}", f"set {where} webhook URL to {expected}")
