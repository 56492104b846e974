/** An in-memory stand-in for fetch that answers like the API contract, for unit tests of the client and the UI. */
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

export interface FakeApi {
    fetch: FetchLike;
    calls: Call[];
    items: Item[];
    /** Makes the next request answer this instead (once). */
    failNext(answer: () => Response | Promise<Response>): void;
}

export function fakeApi(initial: Item[] = []): FakeApi {
    const items = [...initial];
    const calls: Call[] = [];
    const overrides: (() => Response | Promise<Response>)[] = [];
    let nextId = items.reduce((max, i) => Math.max(max, i.id), 0) + 1;

    const fetchImpl: FetchLike = async (input, init = {}) => {
        const method = (init.method ?? "GET").toUpperCase();
        const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
        calls.push({ url: input, method, body, headers: { ...(init.headers as Record<string, string> | undefined) } });
        const override = overrides.shift();
        if (override !== undefined) {
            return override();
        }
        const url = new URL(input, "http://localhost");
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
    return { fetch: fetchImpl, calls, items, failNext: (answer) => overrides.push(answer) };
}
