import type { Item } from "../api";

export interface ItemListProps {
    items: Item[];
    /** Omit for a read-only list. */
    onDelete?: (item: Item) => void;
    /** Ids whose delete is in flight (their buttons are disabled). */
    deleting?: ReadonlySet<number>;
    /** Delete buttons are shown but disabled (signed out), described by the element with this id. @default undefined */
    deleteDisabledBy?: string;
    emptyText: string;
    label: string;
}

export function formatCreatedAt(iso: string): string {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function ItemList({ items, onDelete, deleting, deleteDisabledBy, emptyText, label }: ItemListProps) {
    if (items.length === 0) {
        return <p className="empty">{emptyText}</p>;
    }
    return (
        <ul className="item-list" aria-label={label}>
            {items.map((item) => (
                <li key={item.id} className="item">
                    <div className="item-text">
                        <span className="item-name">{item.name}</span>
                        {item.description !== "" && <p className="item-description">{item.description}</p>}
                        <time className="item-date" dateTime={item.created_at}>
                            {formatCreatedAt(item.created_at)}
                        </time>
                    </div>
                    {onDelete !== undefined && (
                        <button
                            type="button"
                            className="danger"
                            onClick={() => onDelete(item)}
                            disabled={deleteDisabledBy !== undefined || (deleting?.has(item.id) ?? false)}
                            aria-label={`Delete ${item.name}`}
                            aria-describedby={deleteDisabledBy}
                        >
                            Delete
                        </button>
                    )}
                </li>
            ))}
        </ul>
    );
}
