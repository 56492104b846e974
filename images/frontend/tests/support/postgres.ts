/**
 * A real, throwaway PostgreSQL for the end-to-end test and the benchmark: the repository's test server
 * (/tests/services/postgres.ts: initdb into a temp dir, a free port on 127.0.0.1, run as the `postgres` user when we
 * are root), with passwords required over TCP as in production, and a database and login role for the API.
 */
import { type PostgresServer, startPostgres as startServer } from "../../../../tests/services/postgres";

export { postgresUnavailable } from "../../../../tests/services/postgres";

export interface Postgres extends PostgresServer {
    readonly host: string;
    readonly database: string;
    readonly user: string;
    readonly password: string;
}

export async function startPostgres(options: { database?: string; user?: string; password?: string } = {}): Promise<Postgres> {
    const database = options.database ?? "herd";
    const user = options.user ?? "herd";
    const password = options.password ?? "herd-e2e-password";
    const server = await startServer({ hostAuth: "scram-sha-256" });
    try {
        server.psql(`CREATE ROLE "${user}" LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
        server.psql(`CREATE DATABASE "${database}" OWNER "${user}"`);
    } catch (err) {
        server.stop();
        throw err;
    }
    return { ...server, host: "127.0.0.1", database, user, password };
}
