/**
 * Runs THIS directory's nginx configuration with Debian's nginx, outside a container.
 *
 * The template is rendered exactly as the image's entrypoint does (envsubst of the defined environment variables
 * only), then the few container-fixed facts are moved, each by an exact, counted replacement:
 *   /tmp/ (pid, temp paths, rendered server.conf,
 *         the HSTS include)                        -> a private run directory
 *   listen 8080 / listen 8081 (redirect)           -> 127.0.0.1:<free ports>
 *   root /usr/share/nginx/html                     -> the freshly built dist
 * and mime.types comes from Debian's /etc/nginx (the image ships its own). The include files (HSTS, rate limits, trusted
 * proxies) are written by running the image's own 05-herd-check-env.sh (its /tmp/herd moved the same way) with the
 * test's environment. Everything else is byte for byte the file the image runs.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, IS_ROOT, NGINX_DIR, which } from "./env";
import { httpOk, type Service, startProcess, waitFor } from "./process";

export const MAIN_CONF = path.join(NGINX_DIR, "nginx.conf");
export const SERVER_TEMPLATE = path.join(NGINX_DIR, "server.conf.template");
export const CHECK_ENV_SCRIPT = path.join(NGINX_DIR, "05-herd-check-env.sh");

/** Debian's nginx binary (/usr/sbin is not always on a non-root PATH). */
export function nginxBinary(): string | undefined {
    return which("nginx") ?? which("/usr/sbin/nginx");
}

export function nginxUnavailable(): string | undefined {
    if (nginxBinary() === undefined) {
        return "nginx is not installed (apt-get install nginx)";
    }
    return fs.existsSync("/etc/nginx/mime.types") ? undefined : "/etc/nginx/mime.types is missing (apt-get install nginx)";
}

/**
 * envsubst "$defined_envs" as /docker-entrypoint.d/20-envsubst-on-templates.sh runs it: only ${NAME} and $NAME of
 * the given variables are replaced; every other $word (nginx's own variables) is left as it is.
 */
export function envsubst(text: string, env: Record<string, string>): string {
    return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced?: string, bare?: string) => {
        const name = (braced ?? bare) as string;
        return Object.prototype.hasOwnProperty.call(env, name) ? (env[name] as string) : match;
    });
}

/** Replaces `from` with `to`, asserting it occurs exactly `count` times (so a changed config cannot slip past). */
export function replaceCounted(text: string, from: string, to: string, count: number, where: string): string {
    const parts = text.split(from);
    if (parts.length - 1 !== count) {
        throw new Error(`${where}: expected "${from}" ${count} time(s), found ${parts.length - 1}`);
    }
    return parts.join(to);
}

export interface RenderOptions {
    /** Where pid, temp files, conf and logs go. */
    runDir: string;
    port: number;
    /** The built app (vite's outDir). */
    root: string;
    /** host:port of the API (uwsgi's http-socket). */
    apiUpstream: string;
    /** The redirect server's port (the image's 8081). @default port + 1 (enough for `nginx -t`, which binds nothing) */
    redirectPort?: number;
    /** HSTS_MAX_AGE_SECONDS as the pod gets it; undefined: not set (no Strict-Transport-Security header). */
    hstsMaxAgeSeconds?: string;
    /**
     * More of the container's environment for 05-herd-check-env.sh (API_RATE_LIMIT_PER_SECOND, API_RATE_LIMIT_BURST,
     * LOGIN_RATE_LIMIT_PER_MINUTE, TRUSTED_PROXY_CIDRS); unset ones take the script's defaults.
     */
    env?: Record<string, string>;
}

/**
 * Runs the image's 05-herd-check-env.sh as the entrypoint does, with its /tmp/herd moved to `confDir` (so a test
 * never writes to the real /tmp/herd). Returns the exit status and output.
 */
export function runCheckEnv(confDir: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const script = replaceCounted(fs.readFileSync(CHECK_ENV_SCRIPT, "utf8"), "\nHERD_CONF_DIR=/tmp/herd\n", `\nHERD_CONF_DIR=${confDir}\n`, 1, "05-herd-check-env.sh");
    const res = spawnSync("sh", ["-c", script, CHECK_ENV_SCRIPT], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", ...env } });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

export interface RenderedConfig {
    /** The main configuration file to pass to nginx -c. */
    confFile: string;
    serverConf: string;
}

export function renderConfig(o: RenderOptions): RenderedConfig {
    const confDir = path.join(o.runDir, "conf");
    const renderDir = path.join(o.runDir, "herd");
    fs.mkdirSync(confDir, { recursive: true });
    fs.mkdirSync(renderDir, { recursive: true });

    let main = fs.readFileSync(MAIN_CONF, "utf8");
    // pid + 5 temp paths + the include of the rendered server block.
    main = replaceCounted(main, " /tmp/", ` ${o.runDir}/`, 7, "nginx.conf");
    const confFile = path.join(confDir, "nginx.conf");
    fs.writeFileSync(confFile, main);
    fs.copyFileSync("/etc/nginx/mime.types", path.join(confDir, "mime.types"));

    const env: Record<string, string> = { ...o.env, API_UPSTREAM: o.apiUpstream, NGINX_ENVSUBST_OUTPUT_DIR: "/tmp" };
    if (o.hstsMaxAgeSeconds !== undefined) {
        env["HSTS_MAX_AGE_SECONDS"] = o.hstsMaxAgeSeconds;
    }
    const check = runCheckEnv(renderDir, env);
    if (check.status !== 0) {
        throw new Error(`05-herd-check-env.sh failed (${check.status}): ${check.stderr}`);
    }
    let server = envsubst(fs.readFileSync(SERVER_TEMPLATE, "utf8"), { API_UPSTREAM: o.apiUpstream });
    server = replaceCounted(server, "listen 8080 default_server;", `listen 127.0.0.1:${o.port} default_server;`, 1, "server.conf.template");
    server = replaceCounted(server, "listen 8081;", `listen 127.0.0.1:${o.redirectPort ?? o.port + 1};`, 1, "server.conf.template");
    // hsts, real-ip, the rate-limit zones, and the /api/ limit twice (/api/ and sign-in), sign-in's own.
    server = replaceCounted(server, "include /tmp/herd/", `include ${renderDir}/`, 6, "server.conf.template");
    server = replaceCounted(server, "root /usr/share/nginx/html;", `root ${o.root};`, 1, "server.conf.template");
    const serverConf = path.join(renderDir, "server.conf");
    fs.writeFileSync(serverConf, server);
    return { confFile, serverConf };
}

/** The unprivileged identity nginx runs as in tests when we are root (the image runs it as UID 101). */
export const NOBODY = { uid: 65534, gid: 65534 };

/** Makes a run directory nginx can use when it runs as nobody: readable path, writable directory. */
export function makeRunDir(prefix = "herd-nginx-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(dir, 0o755);
    if (IS_ROOT) {
        fs.chownSync(dir, NOBODY.uid, NOBODY.gid);
    }
    return dir;
}

/** `nginx -t` on a rendered config; returns nginx's output, throws with it when the test fails. */
export function testConfig(confFile: string, runDir: string): string {
    const bin = nginxBinary();
    if (bin === undefined) {
        throw new Error("nginx is not installed");
    }
    // Output to a file nginx's user owns: nginx opens /dev/stdout (access_log), which a pipe to node would not allow.
    const logFile = path.join(runDir, "nginx-t.log");
    const fd = fs.openSync(logFile, "w");
    if (IS_ROOT) {
        fs.fchownSync(fd, NOBODY.uid, NOBODY.gid);
    }
    const res = spawnSync(bin, ["-t", "-q", "-c", confFile, "-p", `${runDir}/`, "-e", "stderr"], {
        stdio: ["ignore", fd, fd],
        ...(IS_ROOT ? NOBODY : {}),
    });
    fs.closeSync(fd);
    const output = fs.readFileSync(logFile, "utf8");
    if (res.status !== 0) {
        throw new Error(`nginx -t failed (${res.status}):\n${output}\n--- ${confFile}`);
    }
    return output;
}

export interface NginxServer extends Service {
    readonly port: number;
    readonly url: string;
    /** The redirect server (the image's port 8081). */
    readonly redirectUrl: string;
    readonly runDir: string;
}

/** Renders and starts nginx in the foreground as an unprivileged user; resolves once /healthz answers. */
export async function startNginx(o: RenderOptions): Promise<NginxServer> {
    const bin = nginxBinary();
    if (bin === undefined) {
        throw new Error("nginx is not installed");
    }
    const redirectPort = o.redirectPort ?? (await freePort());
    const { confFile } = renderConfig({ ...o, redirectPort });
    testConfig(confFile, o.runDir);
    const service = startProcess("nginx", bin, ["-c", confFile, "-p", `${o.runDir}/`, "-e", "stderr", "-g", "daemon off;"], {
        logFile: path.join(o.runDir, "nginx.log"),
        ...(IS_ROOT ? NOBODY : {}),
    });
    const url = `http://127.0.0.1:${o.port}`;
    await waitFor(service, "/healthz", () => httpOk(`${url}/healthz`), 15_000);
    return { ...service, port: o.port, url, redirectUrl: `http://127.0.0.1:${redirectPort}`, runDir: o.runDir };
}
