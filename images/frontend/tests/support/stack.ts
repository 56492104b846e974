/**
 * The whole product on this machine, for the end-to-end test and the benchmark: the app built by Vite, real
 * PostgreSQL and Redis, the real API under uwsgi, and nginx with this directory's configuration in front of it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Api, apiUnavailable, startApi, type ApiOptions } from "./api";
import { buildApp } from "./build";
import { freePort } from "./env";
import { makeRunDir, type NginxServer, nginxUnavailable, startNginx } from "./nginx";
import { type Postgres, postgresUnavailable, startPostgres } from "./postgres";
import { type Redis, redisUnavailable, startRedis } from "./redis";

export interface Stack {
    pg: Postgres;
    redis: Redis;
    api: Api;
    nginx: NginxServer;
    dist: string;
    stop(): Promise<void>;
}

/** Everything the stack needs that may be missing here, as reasons. */
export function stackProblems(): (string | undefined)[] {
    return [postgresUnavailable(), redisUnavailable(), apiUnavailable(), nginxUnavailable()];
}

export interface StackOptions {
    api?: ApiOptions;
    /** The front-end container's environment beyond API_UPSTREAM (rate limits, TRUSTED_PROXY_CIDRS); default: none. */
    nginxEnv?: Record<string, string>;
    log?: (line: string) => void;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
    const log = options.log ?? (() => undefined);
    const started: { stop(): unknown }[] = [];
    const runDir = makeRunDir("herd-fe-stack-");
    const stopAll = async () => {
        for (const s of started.reverse()) {
            try {
                await s.stop();
            } catch (err) {
                log(`stopping: ${String(err)}`);
            }
        }
        fs.rmSync(runDir, { recursive: true, force: true });
    };
    try {
        const dist = await buildApp(path.join(runDir, "dist"));
        log(`built the app into ${dist}`);
        const pg = await startPostgres();
        started.push(pg);
        log(`PostgreSQL on 127.0.0.1:${pg.port}`);
        const redis = await startRedis();
        started.push(redis);
        log(`Redis on 127.0.0.1:${redis.port}`);
        const api = await startApi(pg, redis, options.api);
        started.push(api);
        log(`API (uwsgi) on ${api.url}`);
        const nginx = await startNginx({ runDir, port: await freePort(), root: dist, apiUpstream: `127.0.0.1:${api.port}`, env: options.nginxEnv });
        started.push({ stop: () => nginx.stop("SIGQUIT") });
        log(`nginx on ${nginx.url}`);
        return { pg, redis, api, nginx, dist, stop: stopAll };
    } catch (err) {
        await stopAll();
        throw err;
    }
}
