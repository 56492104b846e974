/**
 * Client-side checks for the add-item form. They mirror the API's rules so a person hears about a mistake before a
 * round trip; the API still enforces them (and its message is shown when it disagrees).
 */
import type { NewItem } from "./api";

/** The API accepts names of 1..200 characters. */
export const NAME_MAX = 200;
/** The API's limit; it also keeps the whole JSON body well under the 64 KiB request limit. */
export const DESCRIPTION_MAX = 2000;
/** The API accepts search texts of 1..200 characters. */
export const QUERY_MAX = 200;

export interface ItemFormValues {
    name: string;
    description: string;
}

export interface ItemFormErrors {
    name?: string;
    description?: string;
}

export type ValidationResult =
    | { ok: true; item: NewItem }
    | { ok: false; errors: ItemFormErrors };

/** Length in Unicode code points, which is what the API (Python's len) counts, not UTF-16 units. */
export function charCount(value: string): number {
    let n = 0;
    for (const _ of value) {
        n++;
    }
    return n;
}

export function validateItem(values: ItemFormValues): ValidationResult {
    const name = values.name.trim();
    const description = values.description.trim();
    const errors: ItemFormErrors = {};
    if (name === "") {
        errors.name = "Name is required.";
    } else if (charCount(name) > NAME_MAX) {
        errors.name = `Name must be at most ${NAME_MAX} characters (it has ${charCount(name)}).`;
    }
    if (charCount(description) > DESCRIPTION_MAX) {
        errors.description = `Description must be at most ${DESCRIPTION_MAX} characters (it has ${charCount(description)}).`;
    }
    if (errors.name !== undefined || errors.description !== undefined) {
        return { ok: false, errors };
    }
    return { ok: true, item: description === "" ? { name } : { name, description } };
}

/** The problem with a search text (already trimmed), or undefined when the API will accept it. */
export function validateQuery(query: string): string | undefined {
    if (query === "") {
        return "Type something to search for.";
    }
    if (charCount(query) > QUERY_MAX) {
        return `Search text must be at most ${QUERY_MAX} characters (it has ${charCount(query)}).`;
    }
    return undefined;
}
