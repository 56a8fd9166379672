"""The admin dashboard in headless Chromium, as a person would use it.

Signs in (by keyboard), sends requests through the data plane with the OpenAI SDK and
sees them in the overview and in the log table (a new one arriving live), opens an entry's
bodies and gives feedback, creates a gateway and a stored key through the pages and uses
them from the SDK, creates a route, deploys a second version and rolls it back, looks at
phone width, then checks a read token sees everything and can change nothing. Writes the
README's screenshots when given a folder. Prints 'N passed, N failed'.

Usage: browser.py GATEWAY_URL ADMIN_URL EDIT_TOKEN READ_TOKEN CHROMIUM [SCREENSHOT_DIR]
"""
import json
import os
import sys
import urllib.request

import openai
from playwright.sync_api import expect, sync_playwright
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk"))
from checks import check, finish  # noqa: E402

gateway, admin, edit_token, read_token, chromium = sys.argv[1:6]
shots = sys.argv[6] if len(sys.argv) > 6 else ""
STORED = "sk-dash-stored-4321"


def client(gateway_id="default"):
    return openai.OpenAI(base_url=f"{gateway}/v1/acct/{gateway_id}/compat", api_key="sk-client", max_retries=0)


def chat(gateway_id="default", stream=False, headers=None, content="hi"):
    ai = client(gateway_id)
    args = dict(model="mock/gpt-4o-mini", messages=[{"role": "user", "content": content}], extra_headers=headers or {})
    if stream:
        return "".join(c.choices[0].delta.content or "" for c in ai.chat.completions.create(stream=True, **args) if c.choices)
    return ai.chat.completions.create(**args).choices[0].message.content


def admin_api(method, path, token, body=None):
    request = urllib.request.Request(f"{admin}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def sign_in(page, token):
    page.goto(admin + "/")
    page.locator("#token").focus()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page.locator("#nav")).to_be_visible()


def run(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())

    def signs_in_with_an_edit_token():
        page.goto(admin + "/")
        expect(page.locator("#token")).to_be_visible()
        page.fill("#token", "wrong")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("not accepted")
        sign_in(page, edit_token)
        expect(page.locator("#role")).to_have_text("edit")
        # Kept for this tab only.
        assert page.evaluate("sessionStorage.getItem('sluice-admin-token')") == edit_token

    def empty_overview_says_what_to_do():
        page.goto(admin + "/#/overview")
        expect(page.locator(".empty")).to_contain_text("No requests yet: point your OpenAI client at")

    def requests_show_in_the_overview():
        for n in range(4):
            assert chat(content=f"hello {n}")
        assert chat(stream=True)
        page.reload()
        cards = page.locator("#cards")
        expect(cards).to_contain_text("Requests5")
        expect(cards).to_contain_text("$")
        expect(cards).to_contain_text("tokens")
        expect(page.locator("#charts svg")).to_have_count(5)
        expect(page.locator("#tops")).to_contain_text("mock")
        if shots:
            page.screenshot(path=os.path.join(shots, "overview.png"), full_page=True)

    def log_table_is_live():
        page.goto(admin + "/#/logs")
        rows = page.locator("#log-table tbody tr")
        expect(rows).to_have_count(5)
        chat(content="arrives while watching")
        # Polled every 2 s: within the default 5 s wait, with no reload.
        expect(rows).to_have_count(6)
        expect(page.locator("#log-table tbody tr.new")).to_have_count(1)
        page.fill("input[name=status]", "500")
        page.click("#filters button[type=submit]")
        expect(page.locator(".empty")).to_contain_text("No entries match")
        page.fill("input[name=status]", "")
        page.click("#filters button[type=submit]")
        expect(rows).to_have_count(6)

    def entry_detail_shows_the_bodies():
        page.goto(admin + "/#/logs")
        stream_row = page.locator("#log-table tbody tr", has_text="stream").first
        stream_row.locator("a").click()
        expect(page.locator("#response-body")).to_contain_text("Assembled text")
        expect(page.locator("#response-body .assembled")).not_to_have_text("(no text)")
        expect(page.locator("#request-body")).to_contain_text('"model": "mock/gpt-4o-mini"')
        page.click("#thumbs-up")
        expect(page.locator("#feedback-state")).to_have_text("good")
        if shots:
            page.screenshot(path=os.path.join(shots, "log-detail.png"))
        page.locator("#response-body summary").click()
        expect(page.locator("#response-body .events li").first).to_be_visible()

    def creates_a_gateway_and_a_stored_key_used_by_the_sdk():
        page.goto(admin + "/#/gateways")
        page.fill("#new-gateway-id", "web")
        page.get_by_role("button", name="Create gateway").click()
        expect(page.locator("h1")).to_have_text("Gateway web")
        page.fill("#key-provider", "mock")
        page.fill("#key-secret", STORED)
        page.get_by_role("button", name="Add key").click()
        expect(page.locator("#keys")).to_contain_text("…4321")
        assert STORED not in page.content()
        echoed = json.loads(chat("web", headers={"x-mock-echo-headers": "true"}))
        assert echoed.get("authorization") == f"Bearer {STORED}", echoed

    def edits_spend_limits_and_shows_current_spend():
        page.goto(admin + "/#/gateways/web")
        rule = {"enabled": True, "rules": [{"id": "daily", "limit": 5, "limitType": "cost", "window": 86400}]}
        page.fill("textarea[name=spend_limits]", json.dumps(rule))
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#spend")).to_contain_text("daily")
        chat("web")
        page.reload()
        spent = page.locator("#spend tbody tr").first
        expect(spent).to_contain_text("$5.00")
        expect(spent.locator("td").nth(1)).not_to_have_text("$0")

    def creates_an_access_token_shown_once_and_revokes_it():
        page.goto(admin + "/#/gateways/web")
        page.fill("#token-name", "mobile-app")
        page.fill("#token-rate", "60")
        page.get_by_role("button", name="Create token").click()
        expect(page.locator("#token-value")).not_to_be_empty()
        page.reload()
        expect(page.locator("#token-value")).to_have_count(0)
        row = page.locator("tr", has_text="mobile-app")
        expect(row).to_contain_text("60 / 60 s")
        row.get_by_role("button", name="Revoke").click()
        expect(page.locator("tr", has_text="mobile-app")).to_have_count(0)

    def deploys_a_route_version_and_rolls_it_back():
        page.select_option("#gateway", "web")
        page.goto(admin + "/#/routes")
        page.fill("#route-name", "support")
        page.get_by_role("button", name="Create and deploy").click()
        expect(page.locator("#route-graph svg")).to_be_visible()
        first = page.locator("#versions tbody tr").first.locator("code").inner_text()
        editor = page.locator("#route-json")
        text = editor.input_value()
        editor.fill(text.replace('"end"\n', '"nowhere"\n', 1).replace('"elementId": "end"', '"elementId": "nowhere"', 1))
        page.click("#save-version")
        expect(page.locator("#route-error")).to_contain_text("nowhere")
        editor.fill(text.replace("gpt-4o-mini", "model-b"))
        page.click("#save-version")
        deploy = page.locator("#versions button", has_text="Deploy")
        expect(deploy).to_have_count(1)
        deploy.click()
        back = page.locator("#versions button", has_text="Roll back")
        expect(back).to_have_count(1)
        _, route = admin_api("GET", "/client/v4/accounts/acct/ai-gateway/gateways/web/routes", edit_token)
        route_id = route["data"]["routes"][0]["id"]
        status, live = admin_api("GET", f"/client/v4/accounts/acct/ai-gateway/gateways/web/routes/{route_id}", edit_token)
        assert live["result"]["version"]["version_id"] != first, live
        back.click()
        expect(page.locator("#versions button", has_text="Deploy")).to_have_count(1)
        status, live = admin_api("GET", f"/client/v4/accounts/acct/ai-gateway/gateways/web/routes/{route_id}", edit_token)
        assert live["result"]["version"]["version_id"] == first, live

    def config_file_routes_are_shown_read_only():
        page.select_option("#gateway", "filed")
        page.goto(admin + "/#/routes")
        declared = page.locator(".config-route")
        expect(declared).to_contain_text("cheap")
        expect(declared).to_contain_text('"model": "dynamic/cheap"')
        expect(declared.locator("svg")).to_be_visible()
        expect(declared.locator("textarea")).to_be_disabled()
        expect(page.locator("#route-name")).to_have_count(0)

    def usable_at_phone_width():
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        sign_in(phone, edit_token)
        phone.goto(admin + "/#/overview")
        expect(phone.locator("#cards")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width} px wide at 390"
        phone.close()

    def a_read_token_sees_everything_and_changes_nothing():
        page.click("#signout")
        sign_in(page, read_token)
        expect(page.locator("#role")).to_have_text("read only")
        page.select_option("#gateway", "default")
        page.goto(admin + "/#/logs")
        expect(page.locator("#log-table tbody tr")).to_have_count(6)
        page.locator("#log-table tbody tr a").first.click()
        expect(page.locator("#thumbs-up")).to_be_disabled()
        page.goto(admin + "/#/gateways/web")
        expect(page.locator("#keys")).to_contain_text("…4321")
        expect(page.get_by_role("button", name="Add key")).to_have_count(0)
        expect(page.get_by_role("button", name="Save")).to_have_count(0)
        expect(page.locator("#delete-gateway")).to_have_count(0)
        status = page.evaluate("""async () => (await fetch('/client/v4/accounts/acct/ai-gateway/gateways/web',
            {method: 'DELETE', headers: {Authorization: 'Bearer ' + sessionStorage.getItem('sluice-admin-token')}})).status""")
        assert status == 403, status
        assert admin_api("GET", "/client/v4/accounts/acct/ai-gateway/gateways/web", edit_token)[0] == 200

    for test in [signs_in_with_an_edit_token, empty_overview_says_what_to_do, requests_show_in_the_overview,
                 log_table_is_live, entry_detail_shows_the_bodies, creates_a_gateway_and_a_stored_key_used_by_the_sdk,
                 edits_spend_limits_and_shows_current_spend, creates_an_access_token_shown_once_and_revokes_it,
                 deploys_a_route_version_and_rolls_it_back, config_file_routes_are_shown_read_only,
                 usable_at_phone_width,
                 a_read_token_sees_everything_and_changes_nothing]:
        check(test.__name__.replace("_", " "), test)


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    try:
        run(browser)
    finally:
        browser.close()
finish()
