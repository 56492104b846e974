/**
 * An in-memory stand-in for fetch that answers like the API contract, for unit tests of the client and the UI,
 * sign-in included: one admin account, a session that is either there or not (the real one is an HttpOnly cookie the
 * page never sees), writes refused without `X-Herd-Request: 1` (403) or without a session (401), and reads refused
 * without a session when `readsRequireSignIn` (HERD_READS_REQUIRE_SIGN_IN).
 */
import type { FetchLike, Item } from "../../src/api";

export interface Call {
    url: string;
    method: string;
    body: unknown;
    headers: Record<string, string>;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export const ADMIN = { username: "admin", password: "correct horse battery staple" };
export const SESSION_EXPIRES_AT = "2099-01-01T00:00:00Z";

export interface FakeApiOptions {
    /** Whether the browser starts with a valid session. @default true */
    signedIn?: boolean;
    /** HERD_READS_REQUIRE_SIGN_IN=true: reads answer 401 without a session. @default false */
    readsRequireSignIn?: boolean;
    /** expires_at of sessions it hands out. @default SESSION_EXPIRES_AT */
    expiresAt?: string;
}

export interface FakeApi {
    fetch: FetchLike;
    calls: Call[];
    items: Item[];
    /** Makes the next request (to `path` when given, e.g. "/api/items") answer this instead (once). */
    failNext(answer: () => Response | Promise<Response>, path?: string): void;
    /** Whether a session is valid now; set it false to expire the session behind the page's back. */
    signedIn: boolean;
}

export function fakeApi(initial: Item[] = [], options: FakeApiOptions = {}): FakeApi {
    const items = [...initial];
    const expiresAt = options.expiresAt ?? SESSION_EXPIRES_AT;
    const calls: Call[] = [];
    const overrides: { answer: () => Response | Promise<Response>; path: string | undefined }[] = [];
    let nextId = items.reduce((max, i) => Math.max(max, i.id), 0) + 1;

    const fetchImpl: FetchLike = async (input, init = {}) => {
        const method = (init.method ?? "GET").toUpperCase();
        const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
        const headers = { ...(init.headers as Record<string, string> | undefined) };
        calls.push({ url: input, method, body, headers });
        const url = new URL(input, "http://localhost");
        const at = overrides.findIndex((o) => o.path === undefined || o.path === url.pathname);
        const [override] = at >= 0 ? overrides.splice(at, 1) : [];
        if (override !== undefined) {
            return override.answer();
        }
        if (init.credentials !== "same-origin") {
            // The page must send its session cookie, and only to its own origin.
            return json(400, { error: `fake API: credentials must be same-origin, got ${String(init.credentials)}` });
        }
        const write = method !== "GET" && method !== "HEAD";
        if (write && headers["X-Herd-Request"] !== "1") {
            return json(403, { error: "missing header X-Herd-Request: 1 (required on writes from a browser)" });
        }
        if (url.pathname === "/api/auth/session" && method === "GET") {
            return json(200, api.signedIn ? { authenticated: true, username: ADMIN.username, expires_at: expiresAt } : { authenticated: false });
        }
        if (url.pathname === "/api/auth/login" && method === "POST") {
            if (body?.username !== ADMIN.username || body?.password !== ADMIN.password) {
                return json(401, { error: "wrong username or password" });
            }
            api.signedIn = true;
            return json(200, { username: ADMIN.username, expires_at: expiresAt });
        }
        if (url.pathname === "/api/auth/logout" && method === "POST") {
            api.signedIn = false;
            return new Response(null, { status: 204 });
        }
        if (!api.signedIn && (write || options.readsRequireSignIn === true)) {
            return json(401, { error: write ? "sign in to change items" : "sign in to see items" });
        }
        const byId = /^\/api\/items\/(\d+)$/.exec(url.pathname);
        if (url.pathname === "/api/items" && method === "GET") {
            return json(200, { items });
        }
        if (url.pathname === "/api/items" && method === "POST") {
            const name = typeof body?.name === "string" ? body.name.trim() : "";
            if (name.length < 1 || name.length > 200) {
                return json(400, { error: "name must be 1..200 characters", field: "name" });
            }
            const item: Item = { id: nextId++, name, description: body.description ?? "", created_at: "2026-01-02T03:04:05+00:00" };
            items.push(item);
            return json(201, item);
        }
        if (url.pathname === "/api/items/search" && method === "GET") {
            const q = (url.searchParams.get("q") ?? "").toLowerCase();
            return json(200, { items: items.filter((i) => i.name.toLowerCase().includes(q)) }, { "X-Search-Backend": "postgres" });
        }
        if (byId !== null) {
            const idx = items.findIndex((i) => i.id === Number(byId[1]));
            if (idx < 0) {
                return json(404, { error: "item not found" });
            }
            if (method === "DELETE") {
                items.splice(idx, 1);
                return new Response(null, { status: 204 });
            }
            return json(200, items[idx]);
        }
        return json(404, { error: "not found" });
    };
    const api: FakeApi = { fetch: fetchImpl, calls, items, failNext: (answer, path) => overrides.push({ answer, path }), signedIn: options.signedIn ?? true };
    return api;
}
