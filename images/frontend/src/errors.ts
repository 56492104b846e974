import { ApiError } from "./api";

/** The sentence to show a person for anything a handler caught. */
export function messageOf(err: unknown): string {
    if (err instanceof ApiError) {
        return err.message;
    }
    return "Something went wrong. Please reload the page and try again.";
}
