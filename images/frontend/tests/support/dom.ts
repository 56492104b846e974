/**
 * A jsdom window as the global environment, for component tests under node's test runner.
 * Import it before React or Testing Library (ES modules evaluate imports in order).
 */
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html lang=\"en\"><head></head><body></body></html>", {
    url: "http://localhost/",
    pretendToBeVisual: true,
});
const g = globalThis as Record<string, unknown>;
const win = dom.window as unknown as Record<string, unknown>;
for (const key of Object.getOwnPropertyNames(win)) {
    if (key in g || key === "undefined") {
        continue;
    }
    Object.defineProperty(g, key, { configurable: true, enumerable: true, get: () => win[key] });
}
for (const key of ["window", "document", "navigator"]) {
    Object.defineProperty(g, key, { configurable: true, enumerable: true, get: () => (key === "window" ? win : win[key]) });
}
// Tells React that act() is in use (no "not wrapped in act" warnings from Testing Library).
g["IS_REACT_ACT_ENVIRONMENT"] = true;

export const jsdom = dom;
