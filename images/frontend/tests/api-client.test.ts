/**
 * The API client: the requests it makes (relative /api/ URLs only, methods, bodies) and how every kind of failure
 * becomes one message fit to show a person.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    ApiError,
    createApiClient,
    errorFromResponse,
    messageForStatus,
    NETWORK_ERROR_MESSAGE,
    PROTOCOL_ERROR_MESSAGE,
    retryAfterOf,
    TIMEOUT_MESSAGE,
    tooManySignInsMessage,
    WRONG_CREDENTIALS_MESSAGE,
} from "../src/api";
import { messageOf } from "../src/errors";
import { ADMIN, fakeApi, json, SESSION_EXPIRES_AT } from "./support/fake-api";
import type { FetchLike } from "../src/api";

const ITEM = { id: 7, name: "Milk", description: "2 litres", created_at: "2026-01-02T03:04:05+00:00" };

async function rejects(promise: Promise<unknown>): Promise<ApiError> {
    try {
        await promise;
    } catch (err) {
        assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
        return err;
    }
    assert.fail("expected the call to fail");
}

describe("requests", () => {
    it("lists items with GET /api/items", async () => {
        const api = fakeApi([ITEM]);
        const items = await createApiClient({ fetch: api.fetch }).listItems();
        assert.deepEqual(items, [ITEM]);
        assert.deepEqual(api.calls.map((c) => [c.method, c.url]), [["GET", "/api/items"]]);
        assert.equal(api.calls[0]?.headers["Accept"], "application/json");
    });

    it("creates with POST /api/items and a JSON body; an empty description is left out", async () => {
        const api = fakeApi();
        const client = createApiClient({ fetch: api.fetch });
        const created = await client.createItem({ name: "Bread", description: "" });
        await client.createItem({ name: "Eggs", description: "a dozen" });
        assert.equal(created.name, "Bread");
        assert.deepEqual(api.calls.map((c) => [c.method, c.url, c.body, c.headers["Content-Type"]]), [
            ["POST", "/api/items", { name: "Bread" }, "application/json"],
            ["POST", "/api/items", { name: "Eggs", description: "a dozen" }, "application/json"],
        ]);
    });

    it("gets and deletes one item by id; DELETE's 204 has no body to read", async () => {
        const api = fakeApi([ITEM]);
        const client = createApiClient({ fetch: api.fetch });
        assert.deepEqual(await client.getItem(7), ITEM);
        assert.equal(await client.deleteItem(7), undefined);
        assert.deepEqual(api.calls.map((c) => [c.method, c.url]), [["GET", "/api/items/7"], ["DELETE", "/api/items/7"]]);
    });

    it("searches with the query URL-encoded and reports X-Search-Backend", async () => {
        const api = fakeApi([ITEM, { ...ITEM, id: 8, name: "Oat milk & honey" }]);
        const result = await createApiClient({ fetch: api.fetch }).searchItems("milk & honey");
        assert.equal(api.calls[0]?.url, "/api/items/search?q=milk%20%26%20honey");
        assert.equal(result.backend, "postgres");
        assert.deepEqual(result.items.map((i) => i.id), [8]);
    });

    it("reports a missing X-Search-Backend as null", async () => {
        const client = createApiClient({ fetch: async () => json(200, { items: [] }) });
        assert.equal((await client.searchItems("x")).backend, null);
    });

    it("reads elasticsearch from the header too", async () => {
        const client = createApiClient({ fetch: async () => json(200, { items: [ITEM] }, { "X-Search-Backend": "elasticsearch" }) });
        assert.equal((await client.searchItems("milk")).backend, "elasticsearch");
    });

    it("every URL it calls is relative and under /api/", async () => {
        const api = fakeApi([ITEM]);
        const client = createApiClient({ fetch: api.fetch });
        await client.listItems();
        await client.createItem({ name: "x" });
        await client.getItem(7);
        await client.searchItems("x");
        await client.deleteItem(7);
        for (const call of api.calls) {
            assert.match(call.url, /^\/api\//);
        }
    });

    it("a null description from the API becomes an empty string", async () => {
        const client = createApiClient({ fetch: async () => json(200, { items: [{ ...ITEM, description: null }] }) });
        assert.equal((await client.listItems())[0]?.description, "");
    });
});

describe("errors", () => {
    it("the API's {\"error\": ...} message is the message, with the status and kind", async () => {
        const client = createApiClient({ fetch: async () => json(400, { error: "name must be 1..200 characters", field: "name" }) });
        const err = await rejects(client.createItem({ name: "x" }));
        assert.deepEqual([err.message, err.status, err.kind], ["name must be 1..200 characters", 400, "client"]);
    });

    it("a 5xx with the API's JSON error keeps its message and is a server error", async () => {
        const client = createApiClient({ fetch: async () => json(500, { error: "database unavailable" }) });
        const err = await rejects(client.listItems());
        assert.deepEqual([err.message, err.status, err.kind], ["database unavailable", 500, "server"]);
    });

    it("a 502 HTML page from a proxy becomes a plain sentence with the status", async () => {
        const client = createApiClient({
            fetch: async () => new Response("<html><body>502 Bad Gateway</body></html>", { status: 502, headers: { "Content-Type": "text/html" } }),
        });
        const err = await rejects(client.listItems());
        assert.equal(err.kind, "server");
        assert.equal(err.message, "The service is temporarily unavailable (HTTP 502). Please try again shortly.");
    });

    it("a 413 without a JSON body says it is too large", async () => {
        const client = createApiClient({ fetch: async () => new Response("too big", { status: 413, headers: { "Content-Type": "text/html" } }) });
        assert.match((await rejects(client.createItem({ name: "x" }))).message, /too large.*413/);
    });

    it("a body that claims JSON but is not falls back to the status sentence", async () => {
        const client = createApiClient({ fetch: async () => new Response("{oops", { status: 500, headers: { "Content-Type": "application/json" } }) });
        assert.equal((await rejects(client.listItems())).message, messageForStatus(500));
    });

    it("an empty or non-string error falls back to the status sentence", async () => {
        for (const body of [{ error: "" }, { error: 42 }, { message: "x" }, [1, 2]]) {
            assert.equal((await errorFromResponse(json(404, body))).message, messageForStatus(404));
        }
    });

    it("a network failure (fetch rejects) is a network error with no status", async () => {
        const client = createApiClient({ fetch: async () => { throw new TypeError("Failed to fetch"); } });
        const err = await rejects(client.listItems());
        assert.deepEqual([err.message, err.status, err.kind], [NETWORK_ERROR_MESSAGE, null, "network"]);
    });

    it("a request that takes longer than timeoutMs is abandoned with a timeout message", async () => {
        const client = createApiClient({
            timeoutMs: 20,
            fetch: (_url, init) => new Promise((_resolve, reject) => {
                // A server that never answers (the timer only keeps node's event loop alive: AbortSignal.timeout's is unref'd).
                const never = setTimeout(() => reject(new Error("the client did not time out")), 5000);
                init?.signal?.addEventListener("abort", () => {
                    clearTimeout(never);
                    reject(init.signal?.reason);
                });
            }),
        });
        const err = await rejects(client.listItems());
        assert.deepEqual([err.message, err.kind], [TIMEOUT_MESSAGE, "network"]);
    });

    it("a 200 that is not JSON (index.html instead of the API) is a protocol error", async () => {
        const client = createApiClient({ fetch: async () => new Response("<!doctype html>", { status: 200, headers: { "Content-Type": "text/html" } }) });
        const err = await rejects(client.listItems());
        assert.deepEqual([err.message, err.kind], [PROTOCOL_ERROR_MESSAGE, "protocol"]);
    });

    it("a JSON answer of the wrong shape is a protocol error", async () => {
        for (const body of [{}, { items: "no" }, { items: [{ id: "1", name: "x", created_at: "" }] }]) {
            const client = createApiClient({ fetch: async () => json(200, body) });
            assert.equal((await rejects(client.listItems())).kind, "protocol");
        }
        const client = createApiClient({ fetch: async () => json(201, { id: 1 }) });
        assert.equal((await rejects(client.createItem({ name: "x" }))).kind, "protocol");
    });

    it("status sentences: 401, 403, 404, 429, 503, 504, other 5xx and 4xx", () => {
        assert.equal(messageForStatus(401), "Please sign in (HTTP 401).");
        assert.equal(messageForStatus(403), "The server refused that request (HTTP 403).");
        assert.match(messageForStatus(404), /no longer exists/);
        assert.match(messageForStatus(429), /Too many requests/);
        assert.match(messageForStatus(503), /temporarily unavailable \(HTTP 503\)/);
        assert.match(messageForStatus(504), /temporarily unavailable \(HTTP 504\)/);
        assert.match(messageForStatus(507), /failed to handle the request \(HTTP 507\)/);
        assert.equal(messageForStatus(418), "The request failed (HTTP 418).");
    });

    it("messageOf: an ApiError's own message, a generic sentence for anything else", () => {
        assert.equal(messageOf(new ApiError("boom", "client", 400)), "boom");
        assert.match(messageOf(new Error("internal detail")), /Something went wrong/);
        assert.doesNotMatch(messageOf(new Error("internal detail")), /internal detail/);
    });
});

describe("sign-in and the headers every request carries", () => {
    /** Records the RequestInit of every call, answering `answer`. */
    function recording(answer: () => Response) {
        const inits: { url: string; init: RequestInit }[] = [];
        const fetch: FetchLike = async (url, init = {}) => {
            inits.push({ url, init });
            return answer();
        };
        return { fetch, inits };
    }

    it("every request sends the session cookie to our own origin only (credentials: same-origin)", async () => {
        const rec = recording(() => json(200, { items: [], authenticated: false }));
        const client = createApiClient({ fetch: rec.fetch });
        await client.listItems();
        await client.getSession();
        await client.searchItems("x").catch(() => undefined);
        assert.deepEqual(rec.inits.map((r) => r.init.credentials), ["same-origin", "same-origin", "same-origin"]);
    });

    it("writes, sign-in and sign-out carry X-Herd-Request: 1 (the API's CSRF guard); reads do not need it", async () => {
        const api = fakeApi([ITEM]);
        const client = createApiClient({ fetch: api.fetch });
        await client.login(ADMIN.username, ADMIN.password);
        await client.createItem({ name: "Bread" });
        await client.deleteItem(7);
        await client.logout();
        await client.listItems();
        assert.deepEqual(api.calls.map((c) => [c.method, c.url, c.headers["X-Herd-Request"]]), [
            ["POST", "/api/auth/login", "1"],
            ["POST", "/api/items", "1"],
            ["DELETE", "/api/items/7", "1"],
            ["POST", "/api/auth/logout", "1"],
            ["GET", "/api/items", undefined],
        ]);
    });

    it("login posts the credential as JSON and returns the session", async () => {
        const api = fakeApi([], { signedIn: false });
        const session = await createApiClient({ fetch: api.fetch }).login(ADMIN.username, ADMIN.password);
        assert.deepEqual(session, { authenticated: true, username: "admin", expiresAt: SESSION_EXPIRES_AT });
        assert.deepEqual(api.calls[0]?.body, { username: ADMIN.username, password: ADMIN.password });
        assert.equal(api.calls[0]?.headers["Content-Type"], "application/json");
    });

    it("getSession reads both answers of GET /api/auth/session", async () => {
        const api = fakeApi([], { signedIn: true });
        const client = createApiClient({ fetch: api.fetch });
        assert.deepEqual(await client.getSession(), { authenticated: true, username: "admin", expiresAt: SESSION_EXPIRES_AT });
        api.signedIn = false;
        assert.deepEqual(await client.getSession(), { authenticated: false });
    });

    it("a session answer of the wrong shape is a protocol error", async () => {
        for (const body of [{ authenticated: true }, { authenticated: "yes" }, []]) {
            const err = await rejects(createApiClient({ fetch: async () => json(200, body) }).getSession());
            assert.equal(err.message, PROTOCOL_ERROR_MESSAGE, JSON.stringify(body));
        }
        const err = await rejects(createApiClient({ fetch: async () => json(200, { username: 7 }) }).login("admin", "pw"));
        assert.equal(err.message, PROTOCOL_ERROR_MESSAGE);
    });

    it("a wrong credential (401) reads \"Wrong username or password.\"", async () => {
        const err = await rejects(createApiClient({ fetch: fakeApi([], { signedIn: false }).fetch }).login("admin", "nope"));
        assert.deepEqual([err.message, err.status], [WRONG_CREDENTIALS_MESSAGE, 401]);
    });

    it("too many sign-ins (429) says how long to wait, from Retry-After; a minute when it is missing or not seconds", async () => {
        const with6 = await rejects(createApiClient({ fetch: async () => json(429, { error: "too many requests; retry after 6 s" }, { "Retry-After": "6" }) }).login("a", "b"));
        assert.deepEqual([with6.message, with6.status, with6.retryAfterSeconds], ["Too many sign-in attempts. Please wait 6 s and try again.", 429, 6]);
        const without = await rejects(createApiClient({ fetch: async () => json(429, { error: "too many requests" }, { "Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT" }) }).login("a", "b"));
        assert.equal(without.message, tooManySignInsMessage(null));
        assert.match(without.message, /wait a minute/);
    });

    it("a 429 elsewhere keeps nginx's message and carries the wait", async () => {
        const err = await rejects(createApiClient({ fetch: async () => json(429, { error: "too many requests; retry after 1 s" }, { "Retry-After": "1" }) }).listItems());
        assert.deepEqual([err.message, err.status, err.retryAfterSeconds], ["too many requests; retry after 1 s", 429, 1]);
    });

    it("a write without a session is a 401 with the API's message, for the page to act on", async () => {
        const err = await rejects(createApiClient({ fetch: fakeApi([], { signedIn: false }).fetch }).createItem({ name: "x" }));
        assert.deepEqual([err.status, err.message], [401, "sign in to change items"]);
    });

    it("retryAfterOf: whole seconds only", () => {
        const res = (v: string | null) => new Response(null, { status: 429, headers: v === null ? {} : { "Retry-After": v } });
        assert.deepEqual([retryAfterOf(res("6")), retryAfterOf(res(" 12 ")), retryAfterOf(res(null)), retryAfterOf(res("-1")), retryAfterOf(res("1.5"))], [6, 12, null, null, null]);
    });
});
