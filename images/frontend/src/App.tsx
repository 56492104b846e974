import { useCallback, useEffect, useState } from "react";
import type { ApiClient, Item, NewItem, SearchResult } from "./api";
import { ErrorAlert } from "./components/ErrorAlert";
import { ItemForm } from "./components/ItemForm";
import { ItemList } from "./components/ItemList";
import { SearchPanel } from "./components/SearchPanel";
import { messageOf } from "./errors";

export interface AppProps {
    api: ApiClient;
}

export function App({ api }: AppProps) {
    const [items, setItems] = useState<Item[]>([]);
    /** The list's state: before the first answer, after one, or when the last refresh failed with nothing shown yet. */
    const [listState, setListState] = useState<"loading" | "loaded" | "failed">("loading");
    const [error, setError] = useState<string | null>(null);
    const [deleting, setDeleting] = useState<ReadonlySet<number>>(new Set());
    const [search, setSearch] = useState<{ query: string; answer: SearchResult } | null>(null);

    const refresh = useCallback(async () => {
        try {
            setItems(await api.listItems());
            setListState("loaded");
            // The API answered: an earlier failure (say, "unavailable") no longer describes the page.
            setError(null);
        } catch (err) {
            setError(messageOf(err));
            setListState((prev) => (prev === "loaded" ? prev : "failed"));
        }
    }, [api]);

    useEffect(() => {
        void refresh();
    }, [refresh]);

    async function create(item: NewItem): Promise<boolean> {
        try {
            await api.createItem(item);
        } catch (err) {
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
            setError(messageOf(err));
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
            setError(messageOf(err));
        }
    }

    return (
        <div className="app">
            <header className="app-header">
                <h1>herd</h1>
                <p className="tagline">Keep track of your items.</p>
            </header>
            <ErrorAlert message={error} onDismiss={() => setError(null)} />
            <main className="app-main">
                <section className="card" aria-labelledby="add-heading">
                    <h2 id="add-heading">Add an item</h2>
                    <ItemForm onCreate={create} />
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
                    {listState === "loaded" && (
                        <ItemList items={items} onDelete={(item) => void remove(item)} deleting={deleting} label="Items" emptyText="No items yet. Add the first one above." />
                    )}
                    {listState === "loading" && <p className="empty">Loading items…</p>}
                    {listState === "failed" && <p className="empty">The items could not be loaded. Refresh to try again.</p>}
                </section>
            </main>
        </div>
    );
}
