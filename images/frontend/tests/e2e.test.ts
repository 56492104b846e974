/**
 * End to end, everything real: the app built by Vite, PostgreSQL, Redis, the API (images/api) under Debian's uwsgi,
 * Debian's nginx with this directory's configuration, and headless Chromium driving the page through nginx.
 * A person's path: the page loads signed out (adding and deleting disabled, and a forged write refused), a wrong
 * password is said so, then signed in: an item is added and listed, found by search (PostgreSQL answers: there is no
 * Elasticsearch here), refused by the API with its own message, refused by nginx as too large, deleted; a reload
 * keeps the session, signing out disables the controls again, and a session that vanished (cookie cleared) is said
 * so when a write is refused, the typed text kept. Then nginx's sign-in limit, the health paths kept private, and the
 * API going away. Also the headers nginx puts on the real build's files.
 *
 * In CI (CI=true) a missing binary fails this file; elsewhere it is skipped with the reason.
 * Screenshots: /tmp/herd-frontend-e2e.png (the working page), /tmp/herd-frontend-e2e-error.png and
 * /tmp/herd-frontend-e2e-session-ended.png.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as zlib from "node:zlib";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { missingCommand, skipUnlessAvailable } from "./support/env";
import { TEST_ADMIN } from "./support/api";
import { request } from "./support/http";
import { type Stack, stackProblems, startStack } from "./support/stack";
import { SESSION_ENDED_MESSAGE, SIGNED_OUT_HINT } from "../src/App";
import { WRONG_CREDENTIALS_MESSAGE } from "../src/api";

export const CHROMIUM = process.env["HERD_CHROMIUM"] ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
];
export const SCREENSHOT = path.join(os.tmpdir(), "herd-frontend-e2e.png");
export const ERROR_SCREENSHOT = path.join(os.tmpdir(), "herd-frontend-e2e-error.png");
export const SESSION_SCREENSHOT = path.join(os.tmpdir(), "herd-frontend-e2e-session-ended.png");

const skip = skipUnlessAvailable("the end-to-end test", [
    ...stackProblems(),
    fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} does not exist (apt-get install chromium)`,
    missingCommand("runuser", "util-linux"),
]);

/** A name no other run could have produced, so assertions cannot match leftovers. */
const TOKEN = `e2e${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const NAME = `Shearing shed ${TOKEN}`;
const DESCRIPTION = "Six stands, repaired roof";

describe("end to end: browser → nginx → API → PostgreSQL/Redis", { skip, timeout: 300_000 }, () => {
    let stack: Stack;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    /** Console errors and failed CSP checks seen by the page, to assert on where none are expected. */
    const consoleErrors: string[] = [];
    const cspViolations: string[] = [];

    before(async () => {
        stack = await startStack({ log: (line) => console.log(`# ${line}`) });
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        // A fresh profile: Playwright's launch uses a new temporary user-data-dir for every browser.
        context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: "en-US" });
        page = await context.newPage();
        page.on("console", (msg) => {
            if (msg.type() === "error") {
                consoleErrors.push(msg.text());
            }
            if (/Content Security Policy/i.test(msg.text())) {
                cspViolations.push(msg.text());
            }
        });
        page.on("pageerror", (err) => consoleErrors.push(`pageerror: ${err.message}`));
    });

    after(async () => {
        await context?.close().catch(() => undefined);
        await browser?.close().catch(() => undefined);
        await stack?.stop();
    });

    const items = () => page.getByRole("list", { name: "Items" });
    /** The page's alert region (hidden by CSS while empty, hence includeHidden). */
    const alert = () => page.getByRole("alert", { includeHidden: true });
    const signInForm = () => page.getByRole("form", { name: "Sign in" });
    const addButton = () => page.getByRole("button", { name: "Add item" });

    async function signIn(password: string) {
        await signInForm().getByLabel("Username").fill(TEST_ADMIN.username);
        await signInForm().getByLabel("Password").fill(password);
        const answered = page.waitForResponse((r) => r.url().endsWith("/api/auth/login"));
        await signInForm().getByRole("button", { name: "Sign in" }).click();
        return answered;
    }

    it("the page loads through nginx, signed out, with no console error and no CSP violation", async () => {
        const res = await page.goto(stack.nginx.url, { waitUntil: "networkidle" });
        assert.equal(res?.status(), 200);
        await page.getByRole("heading", { name: "herd", level: 1 }).waitFor();
        await page.getByText(/No items yet|Delete/).first().waitFor();
        await signInForm().waitFor();
        assert.deepEqual(consoleErrors, []);
        assert.deepEqual(cspViolations, []);
        const headers = res?.headers() ?? {};
        assert.equal(headers["cache-control"], "no-cache");
        assert.match(headers["content-security-policy"] ?? "", /script-src 'self'/);
    });

    it("signed out: adding is disabled with the reason shown, and writes forged past the page are refused by the API", async () => {
        await page.getByText(SIGNED_OUT_HINT).first().waitFor();
        assert.equal(await addButton().isDisabled(), true);
        assert.equal(await page.getByLabel("Name", { exact: true }).isDisabled(), true);
        const body = JSON.stringify({ name: "forged" });
        // From a script, through nginx: without the CSRF header 403 naming it; with it but no session 401.
        const noHeader = await request(`${stack.nginx.url}/api/items`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
        assert.equal(noHeader.status, 403, noHeader.text);
        assert.match(JSON.parse(noHeader.text).error, /X-Herd-Request/);
        const noSession = await request(`${stack.nginx.url}/api/items`, { method: "POST", headers: { "Content-Type": "application/json", "X-Herd-Request": "1" }, body });
        assert.deepEqual([noSession.status, JSON.parse(noSession.text)], [401, { error: "sign in to change items" }]);
        assert.equal(noSession.headers["www-authenticate"], undefined, "no browser password prompt");
        // From the page itself (same origin, its cookies): still 401, nothing created.
        const fromPage = await page.evaluate(async () => {
            const r = await fetch("/api/items", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-Herd-Request": "1" }, body: JSON.stringify({ name: "forged" }) });
            return r.status;
        });
        assert.equal(fromPage, 401);
        const listed = JSON.parse((await request(`${stack.api.url}/api/items`)).text).items as { name: string }[];
        assert.ok(!listed.some((i) => i.name === "forged"));
    });

    it("a wrong password is said plainly, and the page stays signed out", async () => {
        const res = await signIn("not the password");
        assert.equal(res.status(), 401);
        await alert().getByText(WRONG_CREDENTIALS_MESSAGE).waitFor();
        assert.equal(await signInForm().getByLabel("Password").inputValue(), "");
        assert.equal(await addButton().isDisabled(), true);
        await alert().getByRole("button", { name: "Dismiss" }).click();
    });

    it("signs in: who is shown, the controls are enabled, and the session is an HttpOnly, SameSite=Strict cookie for /api", async () => {
        const res = await signIn(TEST_ADMIN.password);
        assert.equal(res.status(), 200);
        await page.getByTestId("signed-in-user").getByText("admin").waitFor();
        assert.equal(await addButton().isDisabled(), false);
        assert.equal(await alert().textContent(), "");
        const cookie = (await context.cookies(stack.nginx.url + "/api/items")).find((c) => c.name === "herd_session");
        assert.ok(cookie !== undefined, "herd_session is set");
        assert.deepEqual([cookie.httpOnly, cookie.sameSite, cookie.path, cookie.secure], [true, "Strict", "/api", false]);
        // The page's script cannot read it.
        assert.equal(await page.evaluate(() => document.cookie.includes("herd_session")), false);
    });

    it("client-side validation stops an empty name before any request", async () => {
        let posts = 0;
        const count = (r: { method(): string; url(): string }) => {
            if (r.method() === "POST" && r.url().endsWith("/api/items")) {
                posts++;
            }
        };
        page.on("request", count);
        await page.getByRole("button", { name: "Add item" }).click();
        await page.getByText("Name is required.").waitFor();
        assert.equal(await page.getByLabel("Name", { exact: true }).getAttribute("aria-invalid"), "true");
        page.off("request", count);
        assert.equal(posts, 0);
    });

    it("adds an item: it is listed, and the API (straight, not through nginx) has it", async () => {
        await page.getByLabel("Name", { exact: true }).fill(NAME);
        await page.getByLabel(/Description/).fill(DESCRIPTION);
        const created = page.waitForResponse((r) => r.url().endsWith("/api/items") && r.request().method() === "POST");
        await page.getByRole("button", { name: "Add item" }).click();
        assert.equal((await created).status(), 201);
        await items().getByText(NAME).waitFor();
        await items().getByText(DESCRIPTION).waitFor();
        assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "");
        const direct = await request(`${stack.api.url}/api/items`);
        assert.equal(direct.status, 200);
        const listed = JSON.parse(direct.text).items as { name: string; description: string }[];
        assert.ok(listed.some((i) => i.name === NAME && i.description === DESCRIPTION), direct.text);
        assert.equal(await alert().textContent(), "");
    });

    it("searches for it: found, and the page shows PostgreSQL answered (X-Search-Backend, no Elasticsearch here)", async () => {
        await page.getByRole("searchbox", { name: "Search items" }).fill(TOKEN);
        const answer = page.waitForResponse((r) => r.url().includes("/api/items/search?q="));
        await page.getByRole("button", { name: "Search", exact: true }).click();
        const res = await answer;
        assert.equal(res.status(), 200);
        assert.equal(res.headers()["x-search-backend"], "postgres");
        await page.getByRole("list", { name: "Search results" }).getByText(NAME).waitFor();
        const backend = page.getByTestId("search-backend");
        assert.equal(await backend.getAttribute("data-backend"), "postgres");
        assert.equal(await backend.textContent(), "PostgreSQL");
        assert.match((await page.getByRole("status").textContent()) ?? "", /1 result for “.+”, answered by PostgreSQL/);
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
    });

    it("shows the API's own error when it refuses an item (a 201-character name, past the client's check)", async () => {
        const tooLong = JSON.stringify({ name: "n".repeat(201) });
        // What the API says to this body, asked directly.
        const basic = `Basic ${Buffer.from(`${TEST_ADMIN.username}:${TEST_ADMIN.password}`).toString("base64")}`;
        const direct = await request(`${stack.api.url}/api/items`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: basic }, body: tooLong });
        assert.equal(direct.status, 400, direct.text);
        const apiMessage = JSON.parse(direct.text).error as string;
        assert.ok(typeof apiMessage === "string" && apiMessage !== "");

        // The page sends a valid name; the request is rewritten on its way out, so only the server can refuse it.
        await page.route("**/api/items", (route) =>
            route.request().method() === "POST" ? route.continue({ postData: tooLong }) : route.continue());
        try {
            await page.getByLabel("Name", { exact: true }).fill("A valid name");
            await page.getByRole("button", { name: "Add item" }).click();
            await alert().getByText(apiMessage, { exact: true }).waitFor();
        } finally {
            await page.unroute("**/api/items");
        }
        assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "A valid name", "the form keeps what was typed");
        await page.screenshot({ path: ERROR_SCREENSHOT, fullPage: true });
        await alert().getByRole("button", { name: "Dismiss" }).click();
        assert.equal(await alert().textContent(), "");
    });

    it("shows nginx's refusal of a body over 64 KiB (413, before it reaches the API)", async () => {
        const huge = JSON.stringify({ name: "big", description: "d".repeat(70 * 1024) });
        await page.route("**/api/items", (route) =>
            route.request().method() === "POST" ? route.continue({ postData: huge }) : route.continue());
        try {
            const refused = page.waitForResponse((r) => r.url().endsWith("/api/items") && r.request().method() === "POST");
            await page.getByRole("button", { name: "Add item" }).click();
            assert.equal((await refused).status(), 413);
            await alert().getByText(/too large/).waitFor();
        } finally {
            await page.unroute("**/api/items");
        }
        await page.getByLabel("Name", { exact: true }).fill("");
    });

    it("deletes the item: gone from the page, and the API answers 404 for it", async () => {
        const listed = JSON.parse((await request(`${stack.nginx.url}/api/items`)).text).items as { id: number; name: string }[];
        const id = listed.find((i) => i.name === NAME)?.id;
        assert.ok(id !== undefined);
        const deleted = page.waitForResponse((r) => r.url().endsWith(`/api/items/${id}`) && r.request().method() === "DELETE");
        await items().getByRole("button", { name: `Delete ${NAME}` }).click();
        assert.equal((await deleted).status(), 204);
        await items().getByText(NAME).waitFor({ state: "detached" });
        assert.equal((await request(`${stack.nginx.url}/api/items/${id}`)).status, 404);
    });

    it("through nginx, the real build's index.html is no-cache and its hashed assets immutable and gzipped", async () => {
        const index = await request(`${stack.nginx.url}/`, { headers: { "Accept-Encoding": "gzip" } });
        assert.equal(index.status, 200);
        assert.equal(index.headers["cache-control"], "no-cache");
        const html = index.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(index.body).toString() : index.text;
        const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
        assert.ok(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), html);
        // No inline script or style in the build: the CSP's 'self' is enough (and the page above proved it).
        assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
        assert.doesNotMatch(html, /<style|style="/);
        for (const asset of assets) {
            const res = await request(`${stack.nginx.url}${asset}`, { headers: { "Accept-Encoding": "gzip" } });
            assert.equal(res.status, 200, asset);
            assert.equal(res.headers["cache-control"], "public, max-age=31536000, immutable", asset);
            assert.equal(res.headers["content-encoding"], "gzip", asset);
            assert.equal(res.headers["x-content-type-options"], "nosniff");
            assert.ok(zlib.gunzipSync(res.body).length > res.body.length, `${asset} is compressed`);
        }
    });

    it("a reload keeps the session: still signed in, adding enabled", async () => {
        await page.reload({ waitUntil: "networkidle" });
        await page.getByTestId("signed-in-user").getByText("admin").waitFor();
        assert.equal(await addButton().isDisabled(), false);
    });

    it("signing out ends the session (the API agrees) and disables the controls again", async () => {
        const out = page.waitForResponse((r) => r.url().endsWith("/api/auth/logout"));
        await page.getByRole("button", { name: "Sign out" }).click();
        assert.equal((await out).status(), 204);
        await signInForm().waitFor();
        await page.getByText(SIGNED_OUT_HINT).first().waitFor();
        assert.equal(await addButton().isDisabled(), true);
        const session = await page.evaluate(async () => (await fetch("/api/auth/session", { credentials: "same-origin" })).json());
        assert.deepEqual(session, { authenticated: false });
    });

    it("a session that vanished (cookie cleared): the add is refused, the page says so and signs out, keeping what was typed", async () => {
        assert.equal((await signIn(TEST_ADMIN.password)).status(), 200);
        await page.getByTestId("signed-in-user").waitFor();
        await page.getByLabel("Name", { exact: true }).fill(`Kept ${TOKEN}`);
        await page.getByLabel(/Description/).fill("typed before the session ended");
        await context.clearCookies();
        const refused = page.waitForResponse((r) => r.url().endsWith("/api/items") && r.request().method() === "POST");
        await addButton().click();
        assert.equal((await refused).status(), 401);
        await alert().getByText(SESSION_ENDED_MESSAGE).waitFor();
        await signInForm().waitFor();
        assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), `Kept ${TOKEN}`);
        assert.equal(await page.getByLabel(/Description/).inputValue(), "typed before the session ended");
        assert.equal(await addButton().isDisabled(), true);
        await page.screenshot({ path: SESSION_SCREENSHOT, fullPage: true });
    });

    it("nginx's sign-in limit: after 10 attempts in a row the page says to wait (429, Retry-After 6)", async () => {
        // The browser and this test are the same client (127.0.0.1): the attempts above count too.
        let last = 0;
        for (let i = 0; i < 20 && last !== 429; i++) {
            last = (await request(`${stack.nginx.url}/api/auth/login`, { method: "POST", headers: { "Content-Type": "application/json", "X-Herd-Request": "1" }, body: '{"username":"admin","password":"guess"}' })).status;
        }
        assert.equal(last, 429);
        const res = await signIn(TEST_ADMIN.password);
        assert.equal(res.status(), 429);
        assert.equal(res.headers()["retry-after"], "6");
        await alert().getByText("Too many sign-in attempts. Please wait 6 s and try again.").waitFor();
    });

    it("/api/healthz and /api/readyz answer 404 through nginx; the API itself still answers them", async () => {
        for (const path of ["/api/healthz", "/api/readyz"]) {
            const via = await request(`${stack.nginx.url}${path}`);
            assert.deepEqual([via.status, JSON.parse(via.text)], [404, { error: "not found" }], path);
            assert.equal((await request(`${stack.api.url}${path}`)).status, 200, `${path} straight to the API`);
        }
    });

    it("the API's responses through nginx carry the security headers and a request id", async () => {
        const res = await request(`${stack.nginx.url}/api/items`);
        assert.equal(res.status, 200);
        assert.ok(Array.isArray(JSON.parse(res.text).items));
        assert.equal(res.headers["x-content-type-options"], "nosniff");
        assert.equal(res.headers["x-frame-options"], "DENY");
        assert.equal(res.headers["referrer-policy"], "same-origin");
        assert.match(String(res.headers["permissions-policy"]), /geolocation=\(\)/);
        assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
        assert.match(String(res.headers["x-request-id"]), /^[0-9a-f]{32}$/);
        assert.equal(res.headers["server"], "nginx");
        assert.equal((await request(`${stack.nginx.url}/healthz`)).text, "ok\n");
    });

    it("when the API goes away, the page says the API is unavailable (nginx's 502), and /healthz stays up", async () => {
        await stack.api.stop();
        await page.getByRole("button", { name: "Refresh" }).click();
        await alert().getByText(/The API is unavailable right now/).waitFor();
        const health = await request(`${stack.nginx.url}/healthz`);
        assert.equal(health.status, 200, "nginx's liveness does not depend on the API");
    });
});
