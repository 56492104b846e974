import { useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiError, type ApiClient, type Item, type NewItem, type SearchResult } from "./api";
import { AccountPanel, type AuthState } from "./components/AccountPanel";
import { ErrorAlert } from "./components/ErrorAlert";
import { ItemForm } from "./components/ItemForm";
import { ItemList } from "./components/ItemList";
import { SearchPanel } from "./components/SearchPanel";
import { messageOf } from "./errors";

export interface AppProps {
    api: ApiClient;
}

/** Beside the disabled add form and delete buttons while signed out. */
export const SIGNED_OUT_HINT = "Sign in to add or delete items.";
/** In the items card when the API answers reads with 401 (HERD_READS_REQUIRE_SIGN_IN). */
export const SIGN_IN_TO_SEE = "Sign in to see items.";
/** A write answered 401: the session expired or was cleared since the page learnt it was signed in. */
export const SESSION_ENDED_MESSAGE = "Your session has ended. Sign in again to add or delete items; what you typed is kept.";
/** The session's expires_at passed while the page was open. */
export const SESSION_EXPIRED_MESSAGE = "Your session has expired. Sign in again to add or delete items.";
export const SEARCH_NEEDS_SIGN_IN = "Sign in to search items.";

/** The longest a browser timer may wait (2^31 - 1 ms, about 24.8 days); sessions last at most 168 hours. */
const MAX_TIMER_MS = 2_147_483_647;

function isUnauthorized(err: unknown): boolean {
    return err instanceof ApiError && err.status === 401;
}

export function App({ api }: AppProps) {
    const [items, setItems] = useState<Item[]>([]);
    /**
     * The list's state: before the first answer, after one, when the last refresh failed with nothing shown yet, or
     * when the API lists items only to a signed-in person.
     */
    const [listState, setListState] = useState<"loading" | "loaded" | "failed" | "needs-sign-in">("loading");
    const [auth, setAuthState] = useState<AuthState>({ status: "checking" });
    /** The same, for handlers that run after an await (their closure's `auth` may be stale). */
    const authRef = useRef<AuthState>(auth);
    const setAuth = useCallback((next: AuthState) => {
        authRef.current = next;
        setAuthState(next);
    }, []);
    const hintId = useId();
    const [error, setError] = useState<string | null>(null);
    const [deleting, setDeleting] = useState<ReadonlySet<number>>(new Set());
    const [search, setSearch] = useState<{ query: string; answer: SearchResult } | null>(null);

    /** A 401: the page is signed out from now on; if it thought it was signed in, say the session ended. */
    const signedOutByServer = useCallback((message: string | null) => {
        const wasSignedIn = authRef.current.status === "signed-in";
        setAuth({ status: "signed-out" });
        if (wasSignedIn && message !== null) {
            setError(message);
        }
    }, [setAuth]);

    const refresh = useCallback(async () => {
        try {
            setItems(await api.listItems());
            setListState("loaded");
            // The API answered: an earlier failure (say, "unavailable") no longer describes the page.
            setError(null);
        } catch (err) {
            if (isUnauthorized(err)) {
                // Reads need sign-in here: not an error, an instruction (shown in the list's place).
                setItems([]);
                setListState("needs-sign-in");
                setError(null);
                signedOutByServer(SESSION_ENDED_MESSAGE);
                return;
            }
            setError(messageOf(err));
            setListState((prev) => (prev === "loaded" ? prev : "failed"));
        }
    }, [api, signedOutByServer]);

    useEffect(() => {
        let cancelled = false;
        // A failed check (an older API without sign-in, the API down) leaves the page signed out: the list's own
        // request reports an outage.
        api.getSession().then(
            (session) => {
                if (!cancelled) {
                    setAuth(session.authenticated ? { status: "signed-in", username: session.username, expiresAt: session.expiresAt } : { status: "signed-out" });
                }
            },
            () => {
                if (!cancelled) {
                    setAuth({ status: "signed-out" });
                }
            },
        );
        void refresh();
        return () => {
            cancelled = true;
        };
    }, [api, refresh, setAuth]);

    // Signed out when the session's time is up, without waiting for a write to be refused.
    const expiresAt = auth.status === "signed-in" ? auth.expiresAt : null;
    useEffect(() => {
        if (expiresAt === null) {
            return undefined;
        }
        const ms = Date.parse(expiresAt) - Date.now();
        if (Number.isNaN(ms)) {
            return undefined;
        }
        const timer = setTimeout(() => {
            setAuth({ status: "signed-out" });
            setError(SESSION_EXPIRED_MESSAGE);
        }, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
        return () => clearTimeout(timer);
    }, [expiresAt, setAuth]);

    async function signIn(username: string, password: string): Promise<boolean> {
        try {
            const session = await api.login(username, password);
            setAuth({ status: "signed-in", username: session.username, expiresAt: session.expiresAt });
            setError(null);
        } catch (err) {
            setError(messageOf(err));
            return false;
        }
        // Reads may need sign-in (and the list may have changed meanwhile).
        await refresh();
        return true;
    }

    async function signOut() {
        try {
            await api.logout();
        } catch (err) {
            if (!isUnauthorized(err)) {
                setError(messageOf(err));
                return;
            }
        }
        setAuth({ status: "signed-out" });
        setError(null);
        await refresh();
    }

    async function create(item: NewItem): Promise<boolean> {
        try {
            await api.createItem(item);
        } catch (err) {
            if (isUnauthorized(err)) {
                signedOutByServer(null);
                setError(SESSION_ENDED_MESSAGE);
                return false;
            }
            setError(messageOf(err));
            return false;
        }
        await refresh();
        return true;
    }

    async function remove(item: Item) {
        setDeleting((prev) => new Set(prev).add(item.id));
        try {
            await api.deleteItem(item.id);
            setError(null);
            setItems((prev) => prev.filter((i) => i.id !== item.id));
            setSearch((prev) => prev === null ? null : {
                ...prev,
                answer: { ...prev.answer, items: prev.answer.items.filter((i) => i.id !== item.id) },
            });
        } catch (err) {
            if (isUnauthorized(err)) {
                signedOutByServer(null);
                setError(SESSION_ENDED_MESSAGE);
            } else {
                setError(messageOf(err));
            }
        } finally {
            setDeleting((prev) => {
                const next = new Set(prev);
                next.delete(item.id);
                return next;
            });
        }
    }

    async function runSearch(query: string) {
        try {
            setSearch({ query, answer: await api.searchItems(query) });
            setError(null);
        } catch (err) {
            if (isUnauthorized(err)) {
                signedOutByServer(null);
                setError(SEARCH_NEEDS_SIGN_IN);
                return;
            }
            setError(messageOf(err));
        }
    }

    const signedIn = auth.status === "signed-in";
    const signedOut = auth.status === "signed-out";

    return (
        <div className="app">
            <header className="app-header">
                <div>
                    <h1>herd</h1>
                    <p className="tagline">Keep track of your items.</p>
                </div>
                <AccountPanel auth={auth} onSignIn={signIn} onSignOut={signOut} />
            </header>
            <ErrorAlert message={error} onDismiss={() => setError(null)} />
            <main className="app-main">
                <section className="card" aria-labelledby="add-heading">
                    <h2 id="add-heading">Add an item</h2>
                    <ItemForm onCreate={create} disabled={!signedIn} disabledReason={signedOut ? SIGNED_OUT_HINT : undefined} />
                </section>
                <section className="card" aria-labelledby="search-heading">
                    <h2 id="search-heading">Search</h2>
                    <SearchPanel onSearch={runSearch} onClear={() => setSearch(null)} result={search} />
                </section>
                <section className="card" aria-labelledby="items-heading" aria-busy={listState === "loading"}>
                    <div className="section-head">
                        <h2 id="items-heading">Items</h2>
                        <button type="button" className="secondary" onClick={() => void refresh()}>
                            Refresh
                        </button>
                    </div>
                    {listState === "loaded" && !signedIn && items.length > 0 && (
                        <p id={hintId} className="signed-out-hint">
                            {signedOut ? SIGNED_OUT_HINT : "Checking whether you are signed in…"}
                        </p>
                    )}
                    {listState === "loaded" && (
                        <ItemList
                            items={items}
                            onDelete={(item) => void remove(item)}
                            deleting={deleting}
                            deleteDisabledBy={signedIn ? undefined : hintId}
                            label="Items"
                            emptyText="No items yet. Add the first one above."
                        />
                    )}
                    {listState === "needs-sign-in" && <p className="empty signed-out-hint">{SIGN_IN_TO_SEE}</p>}
                    {listState === "loading" && <p className="empty">Loading items…</p>}
                    {listState === "failed" && <p className="empty">The items could not be loaded. Refresh to try again.</p>}
                </section>
            </main>
        </div>
    );
}
