/**
 * The UI in a jsdom window against an in-memory API: list, add (with client-side validation), delete, search with
 * the answering backend, API errors in the page's one role="alert" region, and signing in and out (writes need a
 * session; a session that ends is said so, and what was typed is kept).
 *
 * Never hand a DOM node to an assertion that may fail (assert.equal(node, null)): printing a jsdom node takes seconds.
 */
import "./support/dom";
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { createApiClient } from "../src/api";
import { App, SEARCH_NEEDS_SIGN_IN, SESSION_ENDED_MESSAGE, SESSION_EXPIRED_MESSAGE, SIGN_IN_TO_SEE, SIGNED_OUT_HINT } from "../src/App";
import { backendLabel } from "../src/components/SearchPanel";
import { formatCreatedAt } from "../src/components/ItemList";
import { ADMIN, fakeApi, json } from "./support/fake-api";

const MILK = { id: 1, name: "Milk", description: "2 litres", created_at: "2026-01-02T03:04:05+00:00" };
const BREAD = { id: 2, name: "Bread", description: "", created_at: "2026-01-02T03:05:00+00:00" };

afterEach(() => cleanup());

/** Renders the page and waits for the list and for the session check (signed in unless the fake says otherwise). */
async function renderApp(api = fakeApi([MILK, BREAD])) {
    render(<App api={createApiClient({ fetch: api.fetch })} />);
    await screen.findByRole("list", { name: "Items" });
    if (api.signedIn) {
        await screen.findByRole("button", { name: "Sign out" });
    } else {
        await screen.findByRole("form", { name: "Sign in" });
    }
    return api;
}

function alertText(): string {
    return screen.getByRole("alert").textContent ?? "";
}

function fillAndSubmit(name: string, description = "") {
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: name } });
    fireEvent.change(screen.getByLabelText(/Description/), { target: { value: description } });
    fireEvent.click(screen.getByRole("button", { name: "Add item" }));
}

describe("the item list", () => {
    it("shows the items the API lists, with their descriptions", async () => {
        await renderApp();
        const list = screen.getByRole("list", { name: "Items" });
        assert.deepEqual(within(list).getAllByRole("listitem").map((li) => li.querySelector(".item-name")?.textContent), ["Milk", "Bread"]);
        assert.ok(within(list).getByText("2 litres"));
        assert.equal(alertText(), "");
    });

    it("says so when there are no items", async () => {
        render(<App api={createApiClient({ fetch: fakeApi([]).fetch })} />);
        assert.ok(await screen.findByText(/No items yet/));
    });

    it("shows the API's error when the list cannot load, and Refresh recovers", async () => {
        const api = fakeApi([MILK]);
        api.failNext(() => json(503, { error: "database unavailable" }), "/api/items");
        render(<App api={createApiClient({ fetch: api.fetch })} />);
        await waitFor(() => assert.equal(alertText().includes("database unavailable"), true));
        assert.ok(screen.getByText(/could not be loaded/));
        fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
        await screen.findByRole("list", { name: "Items" });
        assert.equal(alertText(), "", "the stale error is gone once the API answers");
    });

    it("a network failure is shown as such", async () => {
        render(<App api={createApiClient({ fetch: async () => { throw new TypeError("Failed to fetch"); } })} />);
        await waitFor(() => assert.match(alertText(), /Could not reach the server/));
    });

    it("formats created_at as a local date, and keeps an unparseable one as it is", () => {
        assert.notEqual(formatCreatedAt(MILK.created_at), MILK.created_at);
        assert.equal(formatCreatedAt("not a date"), "not a date");
    });
});

describe("adding an item", () => {
    it("posts name and description, clears the form and shows the new item", async () => {
        const api = await renderApp();
        fillAndSubmit("  Eggs ", "a dozen");
        const list = screen.getByRole("list", { name: "Items" });
        await within(list).findByText("Eggs");
        assert.deepEqual(api.calls.find((c) => c.method === "POST")?.body, { name: "Eggs", description: "a dozen" });
        assert.equal((screen.getByLabelText("Name") as HTMLInputElement).value, "");
        assert.equal((screen.getByLabelText(/Description/) as HTMLTextAreaElement).value, "");
    });

    it("an empty name is refused without calling the API, and the field says why", async () => {
        const api = await renderApp();
        fillAndSubmit("   ");
        const name = screen.getByLabelText("Name");
        assert.equal(name.getAttribute("aria-invalid"), "true");
        assert.ok(screen.getByText("Name is required."));
        assert.match(name.getAttribute("aria-describedby") ?? "", /-error/);
        assert.ok(document.activeElement === name, "the name field has focus");
        assert.equal(api.calls.filter((c) => c.method === "POST").length, 0);
    });

    it("a 201-character name is refused without calling the API", async () => {
        const api = await renderApp();
        fillAndSubmit("n".repeat(201));
        assert.ok(screen.getByText(/at most 200 characters \(it has 201\)/));
        assert.equal(api.calls.filter((c) => c.method === "POST").length, 0);
    });

    it("shows the character count as the name is typed", async () => {
        await renderApp();
        fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Milk" } });
        assert.ok(screen.getByText("4/200 characters"));
    });

    it("the API's refusal is shown in the alert and the form keeps what was typed", async () => {
        const api = await renderApp();
        api.failNext(() => json(400, { error: "an item with that name already exists" }));
        fillAndSubmit("Milk", "again");
        await waitFor(() => assert.match(alertText(), /an item with that name already exists/));
        assert.equal((screen.getByLabelText("Name") as HTMLInputElement).value, "Milk");
    });

    it("a 5xx without a JSON body is shown with its status; Dismiss clears the alert", async () => {
        const api = await renderApp();
        api.failNext(() => new Response("Internal Server Error", { status: 500, headers: { "Content-Type": "text/plain" } }));
        fillAndSubmit("Eggs");
        await waitFor(() => assert.match(alertText(), /HTTP 500/));
        fireEvent.click(screen.getByRole("button", { name: "Dismiss" }));
        assert.equal(alertText(), "");
    });

    it("the alert region exists before any error, so its message is announced when it appears", async () => {
        await renderApp();
        const alert = screen.getByRole("alert");
        assert.equal(alert.textContent, "");
    });
});

describe("deleting an item", () => {
    it("deletes by id and removes it from the list", async () => {
        const api = await renderApp();
        fireEvent.click(screen.getByRole("button", { name: "Delete Milk" }));
        await waitFor(() => assert.ok(screen.queryByRole("button", { name: "Delete Milk" }) === null, "Milk is still listed"));
        assert.ok(api.calls.some((c) => c.method === "DELETE" && c.url === "/api/items/1"));
        assert.ok(screen.getByRole("button", { name: "Delete Bread" }));
    });

    it("a failed delete keeps the item and shows why", async () => {
        const api = await renderApp();
        api.failNext(() => json(404, { error: "item 1 not found" }));
        fireEvent.click(screen.getByRole("button", { name: "Delete Milk" }));
        await waitFor(() => assert.match(alertText(), /item 1 not found/));
        assert.ok(screen.getByRole("button", { name: "Delete Milk" }));
    });
});

describe("searching", () => {
    it("shows the matches and which backend answered", async () => {
        const api = await renderApp();
        fireEvent.change(screen.getByRole("searchbox", { name: "Search items" }), { target: { value: "mil" } });
        fireEvent.click(screen.getByRole("button", { name: "Search" }));
        const results = await screen.findByRole("list", { name: "Search results" });
        assert.deepEqual(within(results).getAllByRole("listitem").map((li) => li.querySelector(".item-name")?.textContent), ["Milk"]);
        const status = screen.getByRole("status");
        assert.match(status.textContent ?? "", /1 result for “mil”, answered by PostgreSQL/);
        assert.equal(screen.getByTestId("search-backend").getAttribute("data-backend"), "postgres");
        assert.equal(api.calls.at(-1)?.url, "/api/items/search?q=mil");
    });

    it("no matches: says 0 results; Clear removes the results", async () => {
        await renderApp();
        fireEvent.change(screen.getByRole("searchbox", { name: "Search items" }), { target: { value: "zzz" } });
        fireEvent.click(screen.getByRole("button", { name: "Search" }));
        await waitFor(() => assert.match(screen.getByRole("status").textContent ?? "", /0 results for “zzz”/));
        fireEvent.click(screen.getByRole("button", { name: "Clear" }));
        assert.equal(screen.getByRole("status").textContent, "");
        assert.equal((screen.getByRole("searchbox") as HTMLInputElement).value, "");
    });

    it("a blank query does not search", async () => {
        const api = await renderApp();
        const before = api.calls.length;
        const button = screen.getByRole("button", { name: "Search" }) as HTMLButtonElement;
        assert.equal(button.disabled, true);
        await act(async () => {
            fireEvent.submit(screen.getByRole("search"));
        });
        assert.equal(api.calls.length, before);
    });

    it("a search text over 200 characters is refused at the field, without calling the API", async () => {
        const api = await renderApp();
        const before = api.calls.length;
        const box = screen.getByRole("searchbox", { name: "Search items" });
        fireEvent.change(box, { target: { value: "q".repeat(201) } });
        fireEvent.click(screen.getByRole("button", { name: "Search" }));
        assert.ok(screen.getByText(/Search text must be at most 200 characters/));
        assert.equal(box.getAttribute("aria-invalid"), "true");
        assert.equal(api.calls.length, before);
    });

    it("a failed search is shown in the alert", async () => {
        const api = await renderApp();
        api.failNext(() => new Response("<html>504</html>", { status: 504, headers: { "Content-Type": "text/html" } }));
        fireEvent.change(screen.getByRole("searchbox", { name: "Search items" }), { target: { value: "milk" } });
        fireEvent.click(screen.getByRole("button", { name: "Search" }));
        await waitFor(() => assert.match(alertText(), /temporarily unavailable \(HTTP 504\)/));
    });

    it("a deleted item leaves the search results too", async () => {
        await renderApp();
        fireEvent.change(screen.getByRole("searchbox", { name: "Search items" }), { target: { value: "milk" } });
        fireEvent.click(screen.getByRole("button", { name: "Search" }));
        await screen.findByRole("list", { name: "Search results" });
        fireEvent.click(screen.getByRole("button", { name: "Delete Milk" }));
        await waitFor(() => assert.ok(screen.queryByRole("list", { name: "Search results" }) === null, "Milk is still in the results"));
        assert.match(screen.getByRole("status").textContent ?? "", /0 results/);
    });

    it("backend labels", () => {
        assert.deepEqual(["elasticsearch", "postgres", null, "other"].map(backendLabel), ["Elasticsearch", "PostgreSQL", "an unknown backend", "other"]);
    });
});

describe("signing in and out", () => {
    const signedOut = () => fakeApi([MILK, BREAD], { signedIn: false });
    const addButton = () => screen.getByRole("button", { name: "Add item" }) as HTMLButtonElement;
    /** Disabled by itself or by its fieldset (the property says only the former). */
    const disabled = (el: Element) => el.matches(":disabled");
    const nameField = () => screen.getByLabelText("Name") as HTMLInputElement;
    const deleteMilk = () => screen.getByRole("button", { name: "Delete Milk" }) as HTMLButtonElement;

    function signIn(username: string, password: string) {
        const form = screen.getByRole("form", { name: "Sign in" });
        fireEvent.change(within(form).getByLabelText("Username"), { target: { value: username } });
        fireEvent.change(within(form).getByLabelText("Password"), { target: { value: password } });
        fireEvent.click(within(form).getByRole("button", { name: "Sign in" }));
    }

    it("signed out: the items are listed, but adding and deleting are disabled with the reason beside them", async () => {
        await renderApp(signedOut());
        assert.equal(disabled(addButton()), true);
        assert.equal(disabled(nameField()), true);
        assert.equal(disabled(screen.getByLabelText(/Description/)), true);
        assert.equal(deleteMilk().disabled, true);
        const hints = screen.getAllByText(SIGNED_OUT_HINT);
        assert.equal(hints.length, 2, "in the add card and above the list");
        assert.equal(deleteMilk().getAttribute("aria-describedby"), hints[1]?.id, "the delete buttons say why they are disabled");
        const password = within(screen.getByRole("form", { name: "Sign in" })).getByLabelText("Password") as HTMLInputElement;
        assert.equal(password.type, "password");
        assert.equal(password.autocomplete, "current-password");
        assert.equal(alertText(), "", "being signed out is not an error");
    });

    it("a wrong password is said plainly in the alert; the password is cleared and focused, and the page stays signed out", async () => {
        const api = await renderApp(signedOut());
        signIn("admin", "guess");
        await waitFor(() => assert.equal(alertText().includes("Wrong username or password."), true, alertText()));
        const password = within(screen.getByRole("form", { name: "Sign in" })).getByLabelText("Password") as HTMLInputElement;
        assert.equal(password.value, "");
        assert.ok(document.activeElement === password, "the password field has focus");
        assert.equal(disabled(addButton()), true);
        const login = api.calls.find((c) => c.url === "/api/auth/login");
        assert.deepEqual(login?.body, { username: "admin", password: "guess" });
        assert.equal(login?.headers["X-Herd-Request"], "1");
    });

    it("too many attempts (nginx's 429) says how long to wait, from Retry-After", async () => {
        const api = await renderApp(signedOut());
        api.failNext(() => json(429, { error: "too many requests; retry after 6 s" }, { "Retry-After": "6" }), "/api/auth/login");
        signIn("admin", "guess");
        await waitFor(() => assert.match(alertText(), /Too many sign-in attempts\. Please wait 6 s and try again\./));
    });

    it("signing in shows who is signed in and enables adding and deleting; both work", async () => {
        const api = await renderApp(signedOut());
        signIn(" admin ", ADMIN.password);
        assert.equal((await screen.findByTestId("signed-in-user")).textContent, "admin");
        assert.deepEqual(api.calls.find((c) => c.url === "/api/auth/login")?.body, { username: "admin", password: ADMIN.password }, "the username is trimmed");
        assert.equal(disabled(addButton()), false);
        assert.equal(screen.queryAllByText(SIGNED_OUT_HINT).length, 0);
        fillAndSubmit("Eggs");
        await within(screen.getByRole("list", { name: "Items" })).findByText("Eggs");
        fireEvent.click(deleteMilk());
        await waitFor(() => assert.ok(screen.queryByRole("button", { name: "Delete Milk" }) === null, "Milk is still listed"));
        const writes = api.calls.filter((c) => c.method !== "GET");
        assert.deepEqual(writes.map((c) => [c.method, c.url, c.headers["X-Herd-Request"]]), [
            ["POST", "/api/auth/login", "1"],
            ["POST", "/api/items", "1"],
            ["DELETE", "/api/items/1", "1"],
        ]);
    });

    it("a session found on load (a reload) is used as it is; signing out disables the controls again", async () => {
        const api = await renderApp();
        assert.equal(screen.getByTestId("signed-in-user").textContent, "admin");
        fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
        await screen.findByRole("form", { name: "Sign in" });
        assert.equal(disabled(addButton()), true);
        assert.equal(deleteMilk().disabled, true);
        const logout = api.calls.find((c) => c.url === "/api/auth/logout");
        assert.deepEqual([logout?.method, logout?.headers["X-Herd-Request"]], ["POST", "1"]);
        assert.equal(api.signedIn, false);
    });

    it("a session that ended behind the page's back: the add is refused (401), the page says so, signs out, and keeps the text", async () => {
        const api = await renderApp();
        api.signedIn = false;
        fillAndSubmit("Eggs", "a dozen");
        await waitFor(() => assert.equal(alertText().includes(SESSION_ENDED_MESSAGE), true, alertText()));
        await screen.findByRole("form", { name: "Sign in" });
        assert.equal(nameField().value, "Eggs");
        assert.equal((screen.getByLabelText(/Description/) as HTMLTextAreaElement).value, "a dozen");
        assert.equal(disabled(addButton()), true);
        // Signing in again and adding uses what was kept.
        signIn("admin", ADMIN.password);
        await screen.findByTestId("signed-in-user");
        fireEvent.click(addButton());
        await within(screen.getByRole("list", { name: "Items" })).findByText("Eggs");
        assert.deepEqual(api.calls.filter((c) => c.method === "POST" && c.url === "/api/items").map((c) => c.body), [
            { name: "Eggs", description: "a dozen" },
            { name: "Eggs", description: "a dozen" },
        ]);
    });

    it("a delete refused with 401 keeps the item, says the session ended, and signs the page out", async () => {
        const api = await renderApp();
        api.signedIn = false;
        fireEvent.click(deleteMilk());
        await waitFor(() => assert.equal(alertText().includes(SESSION_ENDED_MESSAGE), true, alertText()));
        await screen.findByRole("form", { name: "Sign in" });
        assert.equal(deleteMilk().disabled, true, "Milk is still listed, its delete disabled");
    });

    it("when the session's expires_at passes, the page signs itself out and says so", async () => {
        const api = fakeApi([MILK], { expiresAt: new Date(Date.now() + 300).toISOString() });
        await renderApp(api);
        await waitFor(() => assert.equal(alertText(), SESSION_EXPIRED_MESSAGE + "Dismiss"), { timeout: 3000 });
        assert.equal(disabled(addButton()), true);
        assert.ok(screen.getByRole("form", { name: "Sign in" }));
    });

    it("reads that need sign-in (HERD_READS_REQUIRE_SIGN_IN): the list says to sign in, not an error; signing in loads it", async () => {
        const api = fakeApi([MILK, BREAD], { signedIn: false, readsRequireSignIn: true });
        render(<App api={createApiClient({ fetch: api.fetch })} />);
        assert.ok(await screen.findByText(SIGN_IN_TO_SEE));
        assert.equal(alertText(), "");
        fireEvent.change(screen.getByRole("searchbox", { name: "Search items" }), { target: { value: "milk" } });
        fireEvent.click(screen.getByRole("button", { name: "Search" }));
        await waitFor(() => assert.equal(alertText().includes(SEARCH_NEEDS_SIGN_IN), true, alertText()));
        signIn("admin", ADMIN.password);
        const list = await screen.findByRole("list", { name: "Items" });
        assert.equal(within(list).getAllByRole("listitem").length, 2);
        assert.equal(screen.queryByText(SIGN_IN_TO_SEE), null);
    });

    it("an API without sign-in (the session check answers 404): signed out, the list still shows", async () => {
        const api = fakeApi([MILK], { signedIn: false });
        api.failNext(() => json(404, { error: "not found" }), "/api/auth/session");
        await renderApp(api);
        assert.equal(disabled(addButton()), true);
        assert.equal(alertText(), "");
    });
});
