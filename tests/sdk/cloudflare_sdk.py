"""The official Cloudflare Python SDK against sluice's management API, changing only base_url.

Phase "manage": gateways created, listed (search, paging), read, updated and deleted through
`client.ai_gateway`; a created gateway serves a chat completion (OpenAI SDK) within a second;
a deleted one answers 404; a feature sluice lacks turned on is a 400 naming it; the config
file's gateway is read-only (409); a read token cannot write (403), a wrong one is 401.
A key stored with provider_configs goes upstream on its gateway only, shows only its last
four characters, and is deleted by HTTP DELETE. Routes are versioned, deployed and rolled
back; logs are listed with the SDK's filters; access tokens (HTTP) enforce their models,
rate and spend limits. Leaves the gateways "kept" and "kept-secure" (a route, a stored key,
an access token whose spend is used up) for phase "restarted", run after sluice restarts on the same
data_dir, which checks all of it is still there.

Usage: SLUICE_SDK_STATE=DIR cloudflare_sdk.py PHASE http://GATEWAY http://ADMIN EDIT_TOKEN READ_TOKEN
Prints 'N passed, N failed'; exits non-zero on any failure.
"""
import json
import os
import sys
import time

import cloudflare
import httpx
import openai
from checks import check, finish

phase, gateway, admin, edit_token, read_token = sys.argv[1:6]
ACCOUNT = "acct-1"
client = cloudflare.Cloudflare(api_token=edit_token, base_url=f"{admin}/client/v4", max_retries=0)
reader = cloudflare.Cloudflare(api_token=read_token, base_url=f"{admin}/client/v4", max_retries=0)


def chat(gateway_id, headers=None):
    ai = openai.OpenAI(
        base_url=f"{gateway}/v1/{ACCOUNT}/{gateway_id}/compat", api_key="sk-client", max_retries=0
    )
    return ai.chat.completions.create(
        model="mock/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers=headers or {},
    )


def upstream_authorization(gateway_id):
    """The Authorization header the provider received (sluice-mock echoes the headers)."""
    content = chat(gateway_id, {"x-mock-echo-headers": "true"}).choices[0].message.content
    return json.loads(content).get("authorization")


# Handed from phase "manage" to phase "restarted" (a folder the caller removes).
KEPT_TOKEN = os.path.join(os.environ["SLUICE_SDK_STATE"], "kept-token")


def route(model, end="end"):
    return [
        {"id": "start", "type": "start", "outputs": {"next": {"elementId": "m"}}},
        {"id": "m", "type": "model",
         "properties": {"provider": "mock", "model": model, "retries": 0, "timeout": 10000},
         "outputs": {"success": {"elementId": end}, "fallback": {"elementId": end}}},
        {"id": "end", "type": "end", "outputs": {}},
    ]


def answering_model(gateway_id, route_name):
    ai = openai.OpenAI(base_url=f"{gateway}/v1/{ACCOUNT}/{gateway_id}/compat", api_key="sk-client", max_retries=0)
    return ai.chat.completions.create(
        model=f"dynamic/{route_name}", messages=[{"role": "user", "content": "hi"}]
    ).model


def secured_chat(gateway_id, token, model="mock/gpt-4o-mini"):
    ai = openai.OpenAI(base_url=f"{gateway}/v1/{ACCOUNT}/{gateway_id}/compat", api_key="sk-client",
                       max_retries=0, default_headers={"cf-aig-authorization": f"Bearer {token}"})
    return ai.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def serves_within_a_second(gateway_id):
    start = time.monotonic()
    while True:
        try:
            return chat(gateway_id), time.monotonic() - start
        except openai.NotFoundError:
            if time.monotonic() - start > 1.0:
                raise


def create(gateway_id, **fields):
    return client.ai_gateway.create(
        account_id=ACCOUNT,
        id=gateway_id,
        cache_invalidate_on_update=fields.pop("cache_invalidate_on_update", False),
        cache_ttl=fields.pop("cache_ttl", 0),
        collect_logs=fields.pop("collect_logs", True),
        rate_limiting_interval=fields.pop("rate_limiting_interval", 0),
        rate_limiting_limit=fields.pop("rate_limiting_limit", 0),
        **fields,
    )


def expect_status(error_type, status, fn, needle=None):
    try:
        fn()
    except error_type as e:
        assert e.status_code == status, (e.status_code, e)
        if needle:
            assert needle in str(e), str(e)
        return
    raise AssertionError(f"expected {status}")


def manage():
    def create_then_serve():
        made = create("sdk-gw", cache_ttl=60, retry_max_attempts=2, log_management=5000)
        assert made.id == "sdk-gw" and made.cache_ttl == 60 and made.retry_max_attempts == 2, made
        assert made.created_at is not None and made.modified_at is not None
        answer, took = serves_within_a_second("sdk-gw")
        assert answer.choices[0].message.content, answer
        print(f"     served {took * 1000:.0f} ms after the create answer")

    def list_search_and_pages():
        ids = [g.id for g in client.ai_gateway.list(account_id=ACCOUNT)]
        assert "default" in ids and "sdk-gw" in ids, ids
        found = [g.id for g in client.ai_gateway.list(account_id=ACCOUNT, search="sdk")]
        assert found == ["sdk-gw"], found
        page = client.ai_gateway.list(account_id=ACCOUNT, per_page=1, page=2)
        assert len(page.result) == 1, page.result
        assert page.result_info.total_count == len(ids), page.result_info

    def get_and_update():
        got = client.ai_gateway.get("sdk-gw", account_id=ACCOUNT)
        assert got.log_management == 5000, got
        updated = client.ai_gateway.update(
            "sdk-gw",
            account_id=ACCOUNT,
            cache_invalidate_on_update=True,
            cache_ttl=30,
            collect_logs=False,
            rate_limiting_interval=60,
            rate_limiting_limit=1000,
            rate_limiting_technique="fixed",
        )
        assert updated.cache_ttl == 30 and not updated.collect_logs, updated
        assert updated.rate_limiting_limit == 1000, updated
        assert client.ai_gateway.get("sdk-gw", account_id=ACCOUNT).rate_limiting_technique == "fixed"
        chat("sdk-gw")

    def unimplemented_feature_is_refused():
        for field, value in [("zdr", True), ("logpush", True), ("workers_ai_billing_mode", "unified")]:
            expect_status(
                cloudflare.BadRequestError, 400, lambda: create("nope", **{field: value}), field
            )
        ids = [g.id for g in client.ai_gateway.list(account_id=ACCOUNT)]
        assert "nope" not in ids, ids

    def config_gateway_is_read_only():
        listed = {g.id: g for g in client.ai_gateway.list(account_id=ACCOUNT)}
        assert listed["default"].to_dict().get("source") == "config", listed["default"]
        assert listed["sdk-gw"].to_dict().get("source") == "api", listed["sdk-gw"]
        expect_status(
            cloudflare.ConflictError,
            409,
            lambda: client.ai_gateway.update(
                "default",
                account_id=ACCOUNT,
                cache_invalidate_on_update=False,
                cache_ttl=0,
                collect_logs=True,
                rate_limiting_interval=0,
                rate_limiting_limit=0,
            ),
            "config file",
        )
        expect_status(cloudflare.ConflictError, 409, lambda: create("default"))

    def roles():
        assert [g.id for g in reader.ai_gateway.list(account_id=ACCOUNT, search="sdk")] == ["sdk-gw"]
        expect_status(cloudflare.PermissionDeniedError, 403, lambda: reader.ai_gateway.delete("sdk-gw", account_id=ACCOUNT), "read")
        wrong = cloudflare.Cloudflare(api_token="wrong", base_url=f"{admin}/client/v4", max_retries=0)
        expect_status(cloudflare.AuthenticationError, 401, lambda: wrong.ai_gateway.list(account_id=ACCOUNT))

    def delete():
        gone = client.ai_gateway.delete("sdk-gw", account_id=ACCOUNT)
        assert gone.id == "sdk-gw", gone
        expect_status(cloudflare.NotFoundError, 404, lambda: client.ai_gateway.get("sdk-gw", account_id=ACCOUNT))
        try:
            chat("sdk-gw")
            raise AssertionError("a deleted gateway answered")
        except openai.NotFoundError as e:
            assert e.body["code"] == 2001, e.body

    STORED = "sk-byok-stored-5678"

    def stored_key_goes_upstream_and_is_never_shown():
        create("byok")
        made = client.ai_gateway.provider_configs.create(
            "byok", account_id=ACCOUNT, alias="prod", default_config=True,
            provider_slug="mock", secret=STORED,
        )
        assert made.secret_preview == "5678" and made.gateway_id == "byok", made
        assert STORED not in made.to_json(), made.to_json()
        listed = list(client.ai_gateway.provider_configs.list("byok", account_id=ACCOUNT))
        assert [c.id for c in listed] == [made.id], listed
        assert all(STORED not in c.to_json() for c in listed)
        assert upstream_authorization("byok") == f"Bearer {STORED}"
        # Another gateway never sees it: the client's own key goes up there.
        assert upstream_authorization("default") == "Bearer sk-client"

    def stored_keys_are_deleted_by_http_and_refused_on_config_gateways():
        made = list(client.ai_gateway.provider_configs.list("byok", account_id=ACCOUNT))[0]
        path = f"{admin}/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/byok/provider_configs/{made.id}"
        auth = {"Authorization": f"Bearer {edit_token}"}
        gone = httpx.delete(path, headers=auth)
        assert gone.status_code == 200 and gone.json()["result"]["id"] == made.id, gone.text
        assert STORED not in gone.text
        assert list(client.ai_gateway.provider_configs.list("byok", account_id=ACCOUNT)) == []
        assert upstream_authorization("byok") == "Bearer sk-client"
        expect_status(
            cloudflare.ConflictError,
            409,
            lambda: client.ai_gateway.provider_configs.create(
                "default", account_id=ACCOUNT, alias="a", default_config=True,
                provider_slug="mock", secret=STORED,
            ),
            "config file",
        )
        metrics = httpx.get(f"{admin}/metrics").text
        assert STORED not in metrics

    def routes_versions_deploy_and_roll_back():
        routes = client.ai_gateway.dynamic_routing
        create("routed")
        made = routes.create("routed", account_id=ACCOUNT, name="support", elements=route("model-a"))
        first = made.version.version_id
        assert made.deployment.version_id == first and made.version.active == "true", made
        assert answering_model("routed", "support") == "model-a"
        draft = routes.create_version(made.id, account_id=ACCOUNT, gateway_id="routed", elements=route("model-b"))
        assert draft.name == "support", draft
        assert answering_model("routed", "support") == "model-a", "a draft is not live"
        versions = routes.list_versions(made.id, account_id=ACCOUNT, gateway_id="routed").data.versions
        assert [v.active for v in versions] == ["true", "false"], versions
        second = versions[1].version_id
        routes.create_deployment(made.id, account_id=ACCOUNT, gateway_id="routed", version_id=second)
        assert answering_model("routed", "support") == "model-b"
        routes.create_deployment(made.id, account_id=ACCOUNT, gateway_id="routed", version_id=first)
        assert answering_model("routed", "support") == "model-a", "rolled back"
        deployments = routes.list_deployments(made.id, account_id=ACCOUNT, gateway_id="routed").data.deployments
        assert [d.version_id for d in deployments] == [first, second, first], deployments
        got = routes.get_version(second, account_id=ACCOUNT, gateway_id="routed", id=made.id)
        assert got.active == "false" and "model-b" in got.data, got
        listed = routes.list("routed", account_id=ACCOUNT).data.routes
        assert [r.name for r in listed] == ["support"], listed
        renamed = routes.update(made.id, account_id=ACCOUNT, gateway_id="routed", name="helpdesk")
        assert renamed.route.name == "helpdesk", renamed
        assert answering_model("routed", "helpdesk") == "model-a"
        assert routes.get(made.id, account_id=ACCOUNT, gateway_id="routed").name == "helpdesk"
        # A version that does not validate names the element and field, and is not stored.
        expect_status(
            cloudflare.BadRequestError, 400,
            lambda: routes.create_version(made.id, account_id=ACCOUNT, gateway_id="routed", elements=route("model-c", end="nowhere")),
            "element `m`, field `outputs.fallback.elementId`",
        )
        assert len(routes.list_versions(made.id, account_id=ACCOUNT, gateway_id="routed").data.versions) == 2
        gone = routes.delete(made.id, account_id=ACCOUNT, gateway_id="routed")
        assert gone.name == "helpdesk", gone
        assert routes.list("routed", account_id=ACCOUNT).data.routes == []

    def provider_url():
        url = client.ai_gateway.urls.get("mock", account_id=ACCOUNT, gateway_id="routed")
        assert url.startswith("http://") and url.endswith("/routed/mock"), url

    def logs_list_filter_get_edit_and_delete():
        logs = client.ai_gateway.logs
        create("logged")
        for _ in range(3):
            chat("logged")
        page = logs.list("logged", account_id=ACCOUNT, per_page=2)
        assert len(page.result) == 2 and page.result_info.total_count == 3, page
        first = page.result[0]
        assert first.provider == "mock" and first.model and first.success and first.duration >= 0, first
        by_filter = logs.list(
            "logged", account_id=ACCOUNT,
            filters=[{"key": "provider", "operator": "eq", "value": ["mock"]},
                     {"key": "cost", "operator": "gt", "value": [1000000]}],
        )
        assert by_filter.result == [], by_filter.result
        ranged = logs.list("logged", account_id=ACCOUNT, min_tokens_in=1, order_by="created_at",
                           order_by_direction="asc")
        assert len(ranged.result) == 3 and ranged.result[-1].id == first.id, ranged.result
        got = logs.get(first.id, account_id=ACCOUNT, gateway_id="logged")
        assert got.id == first.id and got.status_code == 200, got
        logs.edit(first.id, account_id=ACCOUNT, gateway_id="logged", feedback=1, score=90)
        liked = logs.list("logged", account_id=ACCOUNT, feedback=1).result
        assert [e.id for e in liked] == [first.id], liked
        request = logs.request(first.id, account_id=ACCOUNT, gateway_id="logged")
        assert request["model"] == "mock/gpt-4o-mini", request
        deleted = logs.delete("logged", account_id=ACCOUNT, filters=[{"key": "id", "operator": "eq", "value": [first.id]}])
        assert deleted.success, deleted
        expect_status(cloudflare.NotFoundError, 404, lambda: logs.get(first.id, account_id=ACCOUNT, gateway_id="logged"))
        assert logs.list("logged", account_id=ACCOUNT).result_info.total_count == 2

    def access_tokens_limits_log_and_revoke():
        create("secured", authentication=True)
        base = f"{admin}/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/secured/access_tokens"
        auth = {"Authorization": f"Bearer {edit_token}"}

        def make(**fields):
            made = httpx.post(base, headers=auth, json=fields)
            assert made.status_code == 200, made.text
            return made.json()["result"]

        def ask(token, model="mock/gpt-4o-mini"):
            return secured_chat("secured", token, model)

        def refused(status, code, fn):
            try:
                fn()
            except openai.APIStatusError as e:
                assert e.status_code == status and e.body["code"] == code, (e.status_code, e.body)
                return e
            raise AssertionError(f"expected {status} {code}")

        refused(401, 2009, lambda: ask("not-a-token"))
        # $0.0037 a request (17 + 20 tokens at $1e-4, [price.mock] in the test config).
        budget = make(name="app", models=["mock/gpt-4o-mini"], spend_limit={"limit": 0.005, "window": 3600})
        token = budget["token"]
        assert token.startswith("sluice-at-") and budget["models"] == ["mock/gpt-4o-mini"], budget
        listed = httpx.get(base, headers=auth).json()["result"]
        assert [t["id"] for t in listed] == [budget["id"]] and token not in json.dumps(listed), listed
        refused(403, 2015, lambda: ask(token, model="mock/another-model"))
        ask(token)
        ask(token)
        # Charged when each answer's usage is read: the third request (the fourth, should
        # the second's charge land after the third's check on another worker) is refused.
        try:
            ask(token)
        except openai.APIStatusError:
            pass
        over = refused(429, 2013, lambda: ask(token))
        assert over.body["rule"] == f"access_token:{budget['id']}", over.body
        rated = make(name="ci", rate_limit={"limit": 2, "interval": 60})
        ask(rated["token"])
        ask(rated["token"])
        refused(429, 2012, lambda: ask(rated["token"]))
        logs = httpx.get(f"{admin}/api/v1/gateways/secured/logs?per_page=50", headers=auth).json()["result"]
        assert {e["access_token"] for e in logs} == {budget["id"], rated["id"]}, logs
        assert token not in json.dumps(logs) and rated["token"] not in json.dumps(logs)
        gone = httpx.delete(f"{base}/{rated['id']}", headers=auth)
        assert gone.status_code == 200 and "token" not in gone.json()["result"], gone.text
        refused(401, 2009, lambda: ask(rated["token"]))
        read_only = httpx.post(base, headers={"Authorization": f"Bearer {read_token}"}, json={"name": "x"})
        assert read_only.status_code == 403, read_only.text

    def keep_one_for_the_restart():
        create("kept", retry_max_attempts=3)
        client.ai_gateway.provider_configs.create(
            "kept", account_id=ACCOUNT, alias="default", default_config=False,
            provider_slug="mock", secret="sk-kept-across-restarts-9012",
        )
        client.ai_gateway.dynamic_routing.create("kept", account_id=ACCOUNT, name="kept-route", elements=route("model-k"))
        serves_within_a_second("kept")
        assert answering_model("kept", "kept-route") == "model-k"
        create("kept-secure", authentication=True)
        made = httpx.post(
            f"{admin}/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/kept-secure/access_tokens",
            headers={"Authorization": f"Bearer {edit_token}"},
            json={"name": "kept", "spend_limit": {"limit": 0.005, "window": 3600}},
        ).json()["result"]
        with open(KEPT_TOKEN, "w") as f:
            f.write(made["token"])
        for _ in range(2):  # $0.0074 spent of $0.005: the next request is refused
            secured_chat("kept-secure", made["token"])

    check("create, then a chat completion on it", create_then_serve)
    check("list with search and pages", list_search_and_pages)
    check("get and update (PUT)", get_and_update)
    check("a feature sluice lacks is a 400 naming it", unimplemented_feature_is_refused)
    check("the config file's gateway is read-only", config_gateway_is_read_only)
    check("a read token reads, cannot write; a wrong token is 401", roles)
    check("delete: gone from the API and the data plane", delete)
    check("a stored key goes upstream, only on its gateway, and is never shown", stored_key_goes_upstream_and_is_never_shown)
    check("a stored key deleted; config gateways take none", stored_keys_are_deleted_by_http_and_refused_on_config_gateways)
    check("routes: versions, deploy, roll back, rename, delete", routes_versions_deploy_and_roll_back)
    check("the provider URL of a gateway", provider_url)
    check("logs: list with filters and ranges, get, edit, bodies, delete", logs_list_filter_get_edit_and_delete)
    check("access tokens: models, rate and spend limits, the log, revoke", access_tokens_limits_log_and_revoke)
    check("a gateway for the restart", keep_one_for_the_restart)


def restarted():
    def routes_and_tokens_too():
        assert answering_model("kept", "kept-route") == "model-k"
        token = open(KEPT_TOKEN).read()
        try:
            secured_chat("kept-secure", token)
            raise AssertionError("the spend before the restart was forgotten")
        except openai.APIStatusError as e:
            assert e.status_code == 429 and e.body["code"] == 2013, e.body
        try:
            secured_chat("kept-secure", "not-a-token")
            raise AssertionError("an unknown token was accepted")
        except openai.APIStatusError as e:
            assert e.status_code == 401, e.body

    def still_there():
        got = client.ai_gateway.get("kept", account_id=ACCOUNT)
        assert got.retry_max_attempts == 3 and got.to_dict().get("source") == "api", got
        assert chat("kept").choices[0].message.content
        # The key, sealed in manage.db, opens again after the restart.
        assert upstream_authorization("kept") == "Bearer sk-kept-across-restarts-9012"

    check("the API's gateway survives a restart and serves", still_there)
    check("routes, access tokens and their spend survive it too", routes_and_tokens_too)


{"manage": manage, "restarted": restarted}[phase]()
finish()
