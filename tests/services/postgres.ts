/**
 * A real, throwaway PostgreSQL server for tests: initdb into a temp dir, start on a free port on 127.0.0.1, stop and
 * remove it afterwards. Runs the server as the `postgres` user when the tests run as root (PostgreSQL refuses root).
 * In CI (CI=true) a missing binary is a failure, never a skip. The one implementation: the front end's tests
 * (images/frontend/tests/support/postgres.ts) build on it, so it imports nothing but Node.js built-ins.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface PostgresServer {
    readonly port: number;
    /** Directory of the server's Unix socket (use as PGHOST). */
    readonly socketDir: string;
    readonly dataDir: string;
    /** Environment for client tools connecting as the superuser over the socket. */
    readonly env: NodeJS.ProcessEnv;
    /** Runs psql as the superuser; returns stdout (trimmed). */
    psql(sql: string, database?: string): string;
    /** Stops the server and removes its files; a second call does nothing. */
    stop(): void;
}

export interface PostgresOptions {
    /**
     * How clients over TCP (127.0.0.1) log in: "trust" (the default: any role, no password) or "scram-sha-256" (a
     * password, as in production). Over the Unix socket the superuser is always trusted.
     */
    readonly hostAuth?: "trust" | "scram-sha-256";
}

/** Whether the tests run as root (servers that refuse root then run as another user). */
export const IS_ROOT = process.getuid?.() === 0;

/** A TCP port on 127.0.0.1 nothing listens on right now. */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
        });
    });
}

/** Finds a PostgreSQL server binary (Debian keeps them under /usr/lib/postgresql/<v>/bin). */
export function postgresBinDir(): string | undefined {
    const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
    if (onPath !== "") {
        return path.dirname(fs.realpathSync(onPath));
    }
    const root = "/usr/lib/postgresql";
    const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
    const found = versions.map((v) => path.join(root, v, "bin")).find((d) => fs.existsSync(path.join(d, "initdb")));
    return found;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. In CI the caller must fail on it. */
export function postgresUnavailable(): string | undefined {
    if (postgresBinDir() === undefined) {
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)";
    }
    return spawnSync("sh", ["-c", "command -v psql"]).status === 0 ? undefined : "psql is not installed (apt-get install postgresql-client)";
}

/** Runs a server binary, as the postgres user when we are root. */
function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
    const [cmd, argv] = IS_ROOT ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
    return execFileSync(cmd, argv, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
    const bin = postgresBinDir();
    if (bin === undefined) {
        throw new Error(postgresUnavailable());
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "herd-pg-"));
    const dataDir = path.join(root, "data");
    const socketDir = path.join(root, "sock");
    fs.mkdirSync(socketDir);
    if (IS_ROOT) {
        execFileSync("chown", ["-R", "postgres:postgres", root]);
    }
    const hostAuth = options.hostAuth ?? "trust";
    run(path.join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth-local=trust", `--auth-host=${hostAuth}`, "--no-sync", "-E", "UTF8"]);
    const port = await freePort();
    run(path.join(bin, "pg_ctl"), [
        "-D", dataDir, "-w", "-t", "60", "-l", path.join(root, "server.log"),
        "-o", `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        "start",
    ]);
    const env = { ...process.env, PGHOST: socketDir, PGPORT: String(port), PGUSER: "postgres", PGDATABASE: "postgres" };
    let stopped = false;
    const server: PostgresServer = {
        port,
        socketDir,
        dataDir,
        env,
        psql(sql: string, database = "postgres") {
            return execFileSync("psql", ["-X", "-v", "ON_ERROR_STOP=1", "-tAq", "-d", database, "-c", sql], { encoding: "utf8", env }).trim();
        },
        stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            try {
                run(path.join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        },
    };
    return server;
}
