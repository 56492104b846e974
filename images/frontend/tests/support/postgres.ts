/**
 * A real, throwaway PostgreSQL for the end-to-end test and the benchmark: initdb into a temp dir, a free port on
 * 127.0.0.1, a database and login role for the API. The server runs as the `postgres` user when we are root
 * (PostgreSQL refuses root), the pattern of /tests/services/postgres.ts at the repository root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, IS_ROOT } from "./env";

export interface Postgres {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
    psql(sql: string, database?: string): string;
    stop(): void;
}

/** Debian keeps the server binaries under /usr/lib/postgresql/<version>/bin; initdb may also be on PATH. */
export function postgresBinDir(): string | undefined {
    const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
    if (onPath !== "") {
        return path.dirname(fs.realpathSync(onPath));
    }
    const root = "/usr/lib/postgresql";
    const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
    return versions.map((v) => path.join(root, v, "bin")).find((d) => fs.existsSync(path.join(d, "initdb")));
}

export function postgresUnavailable(): string | undefined {
    if (postgresBinDir() === undefined) {
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)";
    }
    return spawnSync("sh", ["-c", "command -v psql"]).status === 0 ? undefined : "psql is not installed (apt-get install postgresql-client)";
}

function asServerUser(bin: string, args: string[]): string {
    const [cmd, argv] = IS_ROOT ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export async function startPostgres(options: { database?: string; user?: string; password?: string } = {}): Promise<Postgres> {
    const bin = postgresBinDir();
    if (bin === undefined) {
        throw new Error(postgresUnavailable());
    }
    const database = options.database ?? "herd";
    const user = options.user ?? "herd";
    const password = options.password ?? "herd-e2e-password";
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "herd-fe-pg-"));
    const dataDir = path.join(root, "data");
    const socketDir = path.join(root, "sock");
    fs.mkdirSync(socketDir);
    if (IS_ROOT) {
        execFileSync("chown", ["-R", "postgres:postgres", root]);
    }
    asServerUser(path.join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"]);
    const port = await freePort();
    asServerUser(path.join(bin, "pg_ctl"), [
        "-D", dataDir, "-w", "-t", "60", "-l", path.join(root, "server.log"),
        "-o", `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        "start",
    ]);
    const env = { ...process.env, PGHOST: socketDir, PGPORT: String(port), PGUSER: "postgres", PGDATABASE: "postgres" };
    const psql = (sql: string, db = "postgres") =>
        execFileSync("psql", ["-X", "-v", "ON_ERROR_STOP=1", "-tAq", "-d", db, "-c", sql], { encoding: "utf8", env }).trim();
    let stopped = false;
    const stop = () => {
        if (stopped) {
            return;
        }
        stopped = true;
        try {
            asServerUser(path.join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    };
    try {
        psql(`CREATE ROLE "${user}" LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
        psql(`CREATE DATABASE "${database}" OWNER "${user}"`);
    } catch (err) {
        stop();
        throw err;
    }
    return { host: "127.0.0.1", port, database, user, password, psql, stop };
}
