/**
 * The real herd API (images/api), run the way its own tests run it: Debian's uwsgi with the python3 plugin and the
 * API's own uwsgi.ini, with its virtualenv (images/api/.venv, made by images/api/setup.sh), after `python -m
 * herd_api.migrate` has created the schema. The ini takes its listening address from UWSGI_HTTP_SOCKET and the
 * virtualenv from VIRTUAL_ENV, so it runs unchanged on a free loopback port. images/api is never written.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { API_DIR, freePort, which } from "./env";
import type { Postgres } from "./postgres";
import { httpOk, type Service, startProcess, waitFor } from "./process";
import type { Redis } from "./redis";

export const API_VENV = path.join(API_DIR, ".venv");
export const API_PYTHON = path.join(API_VENV, "bin", "python");
export const API_INI = path.join(API_DIR, "uwsgi.ini");

export function apiUnavailable(): string | undefined {
    if (!fs.existsSync(API_DIR)) {
        return `the API is not in ${API_DIR}`;
    }
    if (!fs.existsSync(API_INI)) {
        return `${API_INI} does not exist`;
    }
    if (!fs.existsSync(API_PYTHON)) {
        return `the API's virtualenv is missing (run images/api/setup.sh to create ${API_VENV})`;
    }
    if (which("uwsgi") === undefined) {
        return "uwsgi is not installed (apt-get install uwsgi uwsgi-plugin-python3)";
    }
    return fs.existsSync("/usr/lib/uwsgi/plugins/python3_plugin.so")
        ? undefined
        : "uwsgi's python3 plugin is not installed (apt-get install uwsgi-plugin-python3)";
}

/** The admin credential the test API is started with (HERD_ADMIN_USERNAME is left at its default, admin). */
export const TEST_ADMIN = { username: "admin", password: "e2e-admin-password-0123" };

/**
 * The environment the API is configured by (no ELASTICSEARCH_URL: search falls back to PostgreSQL). Sign-in: the
 * admin password and a 48-character session secret; HERD_SESSION_COOKIE_SECURE=false because the browser reaches
 * nginx over plain http://127.0.0.1 here (a Secure cookie would never be sent back).
 */
export function apiEnv(pg: Postgres, redis: Redis, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
        PATH: process.env["PATH"],
        LANG: "C.UTF-8",
        HOME: process.env["HOME"],
        DATABASE_HOST: pg.host,
        DATABASE_PORT: String(pg.port),
        DATABASE_NAME: pg.database,
        DATABASE_USER: pg.user,
        DATABASE_PASSWORD: pg.password,
        REDIS_HOST: redis.host,
        REDIS_PORT: String(redis.port),
        REDIS_PASSWORD: redis.password,
        VIRTUAL_ENV: API_VENV,
        HERD_ADMIN_PASSWORD: TEST_ADMIN.password,
        HERD_SESSION_SECRET: "e2e-session-secret-0123456789abcdefghijklmnopqrst",
        HERD_SESSION_COOKIE_SECURE: "false",
        ...extra,
    };
    return env;
}

export function migrate(env: NodeJS.ProcessEnv): string {
    return execFileSync(API_PYTHON, ["-m", "herd_api.migrate"], { cwd: API_DIR, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export interface Api extends Service {
    readonly port: number;
    readonly url: string;
}

export interface ApiOptions {
    /** UWSGI_* overrides the API's uwsgi.ini honours (if-not-env), e.g. UWSGI_MAX_REQUESTS; none in tests. */
    uwsgiEnv?: Record<`UWSGI_${string}`, string>;
    /** More of the API's environment (e.g. HERD_SESSION_HOURS, HERD_READS_REQUIRE_SIGN_IN). */
    env?: Record<string, string>;
}

export async function startApi(pg: Postgres, redis: Redis, options: ApiOptions = {}): Promise<Api> {
    const env = apiEnv(pg, redis, options.env);
    migrate(env);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-fe-api-"));
    const port = await freePort();
    const service = startProcess("uwsgi", "uwsgi", ["--plugin", "python3", "--ini", API_INI], {
        cwd: API_DIR,
        env: { ...env, ...options.uwsgiEnv, UWSGI_HTTP_SOCKET: `127.0.0.1:${port}`, TMPDIR: dir },
        logFile: path.join(dir, "uwsgi.log"),
    });
    const url = `http://127.0.0.1:${port}`;
    const stop = service.stop;
    const api: Api = {
        ...service,
        port,
        url,
        // SIGTERM: the ini's graceful shutdown (die-on-term); the master reaps its workers before it exits
        // (SIGINT's brutal stop can leave them as zombies).
        async stop(signal = "SIGTERM", graceMs = 30_000) {
            await stop(signal, graceMs);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    try {
        await waitFor(service, "GET /api/healthz", () => httpOk(`${url}/api/healthz`), 60_000);
    } catch (err) {
        await api.stop();
        throw err;
    }
    return api;
}
