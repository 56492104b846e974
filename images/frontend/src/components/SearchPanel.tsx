import { type FormEvent, useId, useState } from "react";
import type { SearchResult } from "../api";
import { validateQuery } from "../validation";
import { ItemList } from "./ItemList";

export interface SearchPanelProps {
    /** Runs the search; the panel shows `result` once the parent has it. */
    onSearch: (query: string) => Promise<void>;
    onClear: () => void;
    /** The last search's query and answer, or null before any search. */
    result: { query: string; answer: SearchResult } | null;
}

export function backendLabel(backend: string | null): string {
    switch (backend) {
        case "elasticsearch":
            return "Elasticsearch";
        case "postgres":
            return "PostgreSQL";
        case null:
            return "an unknown backend";
        default:
            return backend;
    }
}

export function SearchPanel({ onSearch, onClear, result }: SearchPanelProps) {
    const [query, setQuery] = useState("");
    const [searching, setSearching] = useState(false);
    const [problem, setProblem] = useState<string | undefined>(undefined);
    const inputId = useId();
    const errorId = `${inputId}-error`;

    async function submit(event: FormEvent<HTMLFormElement>) {
        event.preventDefault();
        const q = query.trim();
        const invalid = validateQuery(q);
        setProblem(invalid);
        if (invalid !== undefined) {
            return;
        }
        setSearching(true);
        try {
            await onSearch(q);
        } finally {
            setSearching(false);
        }
    }

    function clear() {
        setQuery("");
        setProblem(undefined);
        onClear();
    }

    return (
        <div className="search">
            <form role="search" className="search-form" onSubmit={submit}>
                <label htmlFor={inputId}>Search items</label>
                <div className="search-row">
                    <input
                        id={inputId}
                        type="search"
                        name="q"
                        value={query}
                        onChange={(e) => setQuery(e.target.value)}
                        aria-invalid={problem !== undefined}
                        aria-describedby={problem !== undefined ? errorId : undefined}
                    />
                    <button type="submit" disabled={searching || query.trim() === ""}>
                        {searching ? "Searching…" : "Search"}
                    </button>
                    {result !== null && (
                        <button type="button" className="secondary" onClick={clear}>
                            Clear
                        </button>
                    )}
                </div>
                {problem !== undefined && (
                    <span id={errorId} className="field-error">
                        {problem}
                    </span>
                )}
            </form>
            <div role="status" className="search-status">
                {result !== null && (
                    <p>
                        {result.answer.items.length === 1 ? "1 result" : `${result.answer.items.length} results`} for “{result.query}”,
                        answered by <strong data-testid="search-backend" data-backend={result.answer.backend ?? ""}>{backendLabel(result.answer.backend)}</strong>.
                    </p>
                )}
            </div>
            {result !== null && result.answer.items.length > 0 && (
                <ItemList items={result.answer.items} emptyText="" label="Search results" />
            )}
        </div>
    );
}
