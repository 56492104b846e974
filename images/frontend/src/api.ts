/**
 * The one module that talks to herd's API. Only relative `/api/...` URLs: in production nginx serves this app and
 * proxies /api/ to the API Service, so the app never needs to know where the API lives.
 *
 * Every failure becomes an `ApiError` whose `message` is fit to show a person:
 * - the API's own `{"error": "..."}` message (400, 404, 413, ... and 5xx when the API answered itself);
 * - a plain sentence when the answer has no such body (nginx's 413/502/504 pages, a proxy's HTML error page);
 * - a plain sentence when the request never got an answer (network down, DNS, timeout).
 */

export interface Item {
    id: number;
    name: string;
    description: string;
    created_at: string;
}

export interface NewItem {
    name: string;
    description?: string;
}

export interface SearchResult {
    items: Item[];
    /** Which backend answered, from the X-Search-Backend header ("elasticsearch" or "postgres"); null when absent. */
    backend: string | null;
}

/** What went wrong, for code: "network" (no answer), "client" (4xx), "server" (5xx), "protocol" (unexpected body). */
export type ApiErrorKind = "network" | "client" | "server" | "protocol";

export class ApiError extends Error {
    override readonly name = "ApiError";

    constructor(
        message: string,
        readonly kind: ApiErrorKind,
        /** HTTP status, or null when no response arrived. */
        readonly status: number | null,
    ) {
        super(message);
    }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
    /** Defaults to the global fetch. */
    fetch?: FetchLike;
    /** Milliseconds before a request is abandoned. @default 15000 */
    timeoutMs?: number;
}

export interface ApiClient {
    listItems(): Promise<Item[]>;
    getItem(id: number): Promise<Item>;
    createItem(item: NewItem): Promise<Item>;
    deleteItem(id: number): Promise<void>;
    searchItems(query: string): Promise<SearchResult>;
}

export const API_BASE = "/api";
export const DEFAULT_TIMEOUT_MS = 15_000;

export const NETWORK_ERROR_MESSAGE = "Could not reach the server. Check your connection and try again.";
export const TIMEOUT_MESSAGE = "The server took too long to answer. Please try again.";
export const PROTOCOL_ERROR_MESSAGE = "The server sent an answer this page does not understand. Please reload the page.";

/** The sentence shown for an error status whose body carries no `{"error": ...}` message. */
export function messageForStatus(status: number): string {
    switch (status) {
        case 400:
            return "The server could not accept that request (HTTP 400).";
        case 404:
            return "That item no longer exists (HTTP 404).";
        case 408:
            return "The request took too long to send (HTTP 408). Please try again.";
        case 413:
            return "That is too large to save (HTTP 413). Please shorten it.";
        case 429:
            return "Too many requests (HTTP 429). Please wait a moment and try again.";
        case 502:
        case 503:
        case 504:
            return `The service is temporarily unavailable (HTTP ${status}). Please try again shortly.`;
        default:
            return status >= 500
                ? `The server failed to handle the request (HTTP ${status}). Please try again.`
                : `The request failed (HTTP ${status}).`;
    }
}

function isJson(res: Response): boolean {
    return (res.headers.get("content-type") ?? "").toLowerCase().includes("json");
}

/** Turns a non-2xx response into an ApiError, preferring the API's `{"error": "..."}` message. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
    const kind: ApiErrorKind = res.status >= 500 ? "server" : "client";
    if (isJson(res)) {
        try {
            const body: unknown = await res.json();
            if (typeof body === "object" && body !== null && "error" in body) {
                const error = (body as { error: unknown }).error;
                if (typeof error === "string" && error.trim() !== "") {
                    return new ApiError(error, kind, res.status);
                }
            }
        } catch {
            // A body that claims JSON but is not: fall through to the status sentence.
        }
    }
    return new ApiError(messageForStatus(res.status), kind, res.status);
}

function isItem(value: unknown): value is Item {
    if (typeof value !== "object" || value === null) {
        return false;
    }
    const v = value as Record<string, unknown>;
    return typeof v.id === "number" && typeof v.name === "string" && typeof v.created_at === "string"
        && (v.description === undefined || v.description === null || typeof v.description === "string");
}

/** The item as the UI uses it: description always a string (the API may send null for "none"). */
function normalizeItem(value: Item): Item {
    return { id: value.id, name: value.name, description: value.description ?? "", created_at: value.created_at };
}

function itemsFrom(body: unknown): Item[] {
    if (typeof body === "object" && body !== null && Array.isArray((body as { items?: unknown }).items)) {
        const items = (body as { items: unknown[] }).items;
        if (items.every(isItem)) {
            return items.map(normalizeItem);
        }
    }
    throw new ApiError(PROTOCOL_ERROR_MESSAGE, "protocol", null);
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
    const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

    async function request(path: string, init: RequestInit = {}): Promise<Response> {
        let res: Response;
        try {
            res = await doFetch(`${API_BASE}${path}`, {
                ...init,
                headers: { Accept: "application/json", ...(init.headers as Record<string, string> | undefined) },
                signal: AbortSignal.timeout(timeoutMs),
            });
        } catch (err) {
            const timedOut = err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
            throw new ApiError(timedOut ? TIMEOUT_MESSAGE : NETWORK_ERROR_MESSAGE, "network", null);
        }
        if (!res.ok) {
            throw await errorFromResponse(res);
        }
        return res;
    }

    async function json(res: Response): Promise<unknown> {
        if (!isJson(res)) {
            // e.g. the SPA's index.html because /api/ was not routed to the API.
            throw new ApiError(PROTOCOL_ERROR_MESSAGE, "protocol", res.status);
        }
        try {
            return await res.json();
        } catch {
            throw new ApiError(PROTOCOL_ERROR_MESSAGE, "protocol", res.status);
        }
    }

    async function item(res: Response): Promise<Item> {
        const body = await json(res);
        if (!isItem(body)) {
            throw new ApiError(PROTOCOL_ERROR_MESSAGE, "protocol", res.status);
        }
        return normalizeItem(body);
    }

    return {
        async listItems() {
            return itemsFrom(await json(await request("/items")));
        },
        async getItem(id) {
            return item(await request(`/items/${encodeURIComponent(String(id))}`));
        },
        async createItem(newItem) {
            const body: NewItem = { name: newItem.name };
            if (newItem.description !== undefined && newItem.description !== "") {
                body.description = newItem.description;
            }
            return item(await request("/items", {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify(body),
            }));
        },
        async deleteItem(id) {
            await request(`/items/${encodeURIComponent(String(id))}`, { method: "DELETE" });
        },
        async searchItems(query) {
            const res = await request(`/items/search?q=${encodeURIComponent(query)}`);
            const backend = res.headers.get("X-Search-Backend");
            return { items: itemsFrom(await json(res)), backend: backend === null || backend === "" ? null : backend };
        },
    };
}
