/**
 * The one module that talks to herd's API. Only relative `/api/...` URLs: in production nginx serves this app and
 * proxies /api/ to the API Service, so the app never needs to know where the API lives.
 *
 * Every failure becomes an `ApiError` whose `message` is fit to show a person:
 * - the API's own `{"error": "..."}` message (400, 404, 413, ... and 5xx when the API answered itself);
 * - a plain sentence when the answer has no such body (nginx's 413/502/504 pages, a proxy's HTML error page);
 * - a plain sentence when the request never got an answer (network down, DNS, timeout).
 *
 * Sign-in is a session cookie the API sets (HttpOnly, SameSite=Strict, Path=/api); every request sends it
 * (`credentials: "same-origin"`), and every write, sign-in and sign-out carries `X-Herd-Request: 1`, the header the
 * API requires of a browser's writes (a cross-site page cannot send it without a CORS preflight the API never grants).
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

/** Who is signed in, from GET /api/auth/session or POST /api/auth/login. */
export type Session =
    | { authenticated: true; username: string; /** ISO 8601 (UTC) */ expiresAt: string }
    | { authenticated: false };
export type SignedInSession = Extract<Session, { authenticated: true }>;

export class ApiError extends Error {
    override readonly name = "ApiError";

    constructor(
        message: string,
        readonly kind: ApiErrorKind,
        /** HTTP status, or null when no response arrived. */
        readonly status: number | null,
        /** Seconds the server asked us to wait (Retry-After on a 429), when it said. */
        readonly retryAfterSeconds: number | null = null,
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
    /** GET /api/auth/session. */
    getSession(): Promise<Session>;
    /** POST /api/auth/login; a 401 is WRONG_CREDENTIALS_MESSAGE, a 429 tooManySignInsMessage. */
    login(username: string, password: string): Promise<SignedInSession>;
    /** POST /api/auth/logout. */
    logout(): Promise<void>;
}

/** The header the API requires on a browser's writes (its CSRF guard), and its value. */
export const WRITE_HEADER = "X-Herd-Request";
const WRITE_HEADERS = { [WRITE_HEADER]: "1" };

export const API_BASE = "/api";
export const DEFAULT_TIMEOUT_MS = 15_000;

export const NETWORK_ERROR_MESSAGE = "Could not reach the server. Check your connection and try again.";
export const TIMEOUT_MESSAGE = "The server took too long to answer. Please try again.";
export const PROTOCOL_ERROR_MESSAGE = "The server sent an answer this page does not understand. Please reload the page.";
export const WRONG_CREDENTIALS_MESSAGE = "Wrong username or password.";

export function tooManySignInsMessage(retryAfterSeconds: number | null): string {
    return retryAfterSeconds === null
        ? "Too many sign-in attempts. Please wait a minute and try again."
        : `Too many sign-in attempts. Please wait ${retryAfterSeconds} s and try again.`;
}

/** The sentence shown for an error status whose body carries no `{"error": ...}` message. */
export function messageForStatus(status: number): string {
    switch (status) {
        case 400:
            return "The server could not accept that request (HTTP 400).";
        case 401:
            return "Please sign in (HTTP 401).";
        case 403:
            return "The server refused that request (HTTP 403).";
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

/** Retry-After in whole seconds (the delta form; nginx and the API send no dates), or null. */
export function retryAfterOf(res: Response): number | null {
    const value = (res.headers.get("Retry-After") ?? "").trim();
    return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

/** Turns a non-2xx response into an ApiError, preferring the API's `{"error": "..."}` message. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
    const kind: ApiErrorKind = res.status >= 500 ? "server" : "client";
    const retryAfter = retryAfterOf(res);
    if (isJson(res)) {
        try {
            const body: unknown = await res.json();
            if (typeof body === "object" && body !== null && "error" in body) {
                const error = (body as { error: unknown }).error;
                if (typeof error === "string" && error.trim() !== "") {
                    return new ApiError(error, kind, res.status, retryAfter);
                }
            }
        } catch {
            // A body that claims JSON but is not: fall through to the status sentence.
        }
    }
    return new ApiError(messageForStatus(res.status), kind, res.status, retryAfter);
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

/** A session answer (login's or session's), or null when it has not the contract's shape. */
function sessionFrom(body: unknown, signedIn: boolean | undefined): Session | null {
    if (typeof body !== "object" || body === null) {
        return null;
    }
    const v = body as Record<string, unknown>;
    const authenticated = signedIn ?? v.authenticated;
    if (authenticated === false) {
        return { authenticated: false };
    }
    if (authenticated === true && typeof v.username === "string" && typeof v.expires_at === "string") {
        return { authenticated: true, username: v.username, expiresAt: v.expires_at };
    }
    return null;
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
                // The session cookie goes with every request to our own origin, never anywhere else.
                credentials: "same-origin",
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
                headers: { "Content-Type": "application/json", ...WRITE_HEADERS },
                body: JSON.stringify(body),
            }));
        },
        async deleteItem(id) {
            await request(`/items/${encodeURIComponent(String(id))}`, { method: "DELETE", headers: WRITE_HEADERS });
        },
        async searchItems(query) {
            const res = await request(`/items/search?q=${encodeURIComponent(query)}`);
            const backend = res.headers.get("X-Search-Backend");
            return { items: itemsFrom(await json(res)), backend: backend === null || backend === "" ? null : backend };
        },
        async getSession() {
            const session = sessionFrom(await json(await request("/auth/session")), undefined);
            if (session === null) {
                throw new ApiError(PROTOCOL_ERROR_MESSAGE, "protocol", 200);
            }
            return session;
        },
        async login(username, password) {
            let res: Response;
            try {
                res = await request("/auth/login", {
                    method: "POST",
                    headers: { "Content-Type": "application/json", ...WRITE_HEADERS },
                    body: JSON.stringify({ username, password }),
                });
            } catch (err) {
                // The API's own words for these ("wrong username or password", nginx's "too many requests; retry
                // after N s") are terse; a person signing in gets a sentence.
                if (err instanceof ApiError && err.status === 401) {
                    throw new ApiError(WRONG_CREDENTIALS_MESSAGE, "client", 401);
                }
                if (err instanceof ApiError && err.status === 429) {
                    throw new ApiError(tooManySignInsMessage(err.retryAfterSeconds), "client", 429, err.retryAfterSeconds);
                }
                throw err;
            }
            const session = sessionFrom(await json(res), true);
            if (session === null || !session.authenticated) {
                throw new ApiError(PROTOCOL_ERROR_MESSAGE, "protocol", res.status);
            }
            return session;
        },
        async logout() {
            await request("/auth/logout", { method: "POST", headers: WRITE_HEADERS });
        },
    };
}
