/** Runs wrk (Debian's) against one URL, reads its report, and counts what went wrong. */
import { spawnSync } from "node:child_process";

export interface WrkResult {
    requestsPerSecond: number;
    requests: number;
    non2xx: number;
    socketErrors: { connect: number; read: number; write: number; timeout: number };
    latencyP50Ms: number | undefined;
    latencyP99Ms: number | undefined;
}

function toMs(value: string, unit: string): number {
    const n = Number(value);
    return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/** Parses wrk's --latency report. */
export function parseWrk(output: string): WrkResult {
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
    if (rps === null) {
        throw new Error(`wrk printed no Requests/sec:\n${output}`);
    }
    const requests = /(\d+) requests in/.exec(output);
    const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
    const p = (q: string) => {
        const m = new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(output);
        return m === null ? undefined : toMs(m[1] as string, m[2] as string);
    };
    return {
        requestsPerSecond: Number(rps[1]),
        requests: Number(requests?.[1] ?? 0),
        non2xx: Number(non2xx?.[1] ?? 0),
        socketErrors: {
            connect: Number(socket?.[1] ?? 0),
            read: Number(socket?.[2] ?? 0),
            write: Number(socket?.[3] ?? 0),
            timeout: Number(socket?.[4] ?? 0),
        },
        latencyP50Ms: p("50"),
        latencyP99Ms: p("99"),
    };
}

/** Everything wrk counted as going wrong: socket errors of each kind and responses that were not 2xx/3xx. */
export type WrkErrors = WrkResult["socketErrors"] & { non2xx: number };

/** Completed requests and errors of several reports (e.g. one side's rounds), added up. */
export function totalErrors(results: readonly WrkResult[]): { requests: number; errors: WrkErrors; total: number } {
    const errors: WrkErrors = { connect: 0, read: 0, write: 0, timeout: 0, non2xx: 0 };
    let requests = 0;
    for (const r of results) {
        requests += r.requests;
        errors.non2xx += r.non2xx;
        for (const kind of ["connect", "read", "write", "timeout"] as const) {
            errors[kind] += r.socketErrors[kind];
        }
    }
    const total = errors.connect + errors.read + errors.write + errors.timeout + errors.non2xx;
    return { requests, errors, total };
}

/** "connect 0, read 12, write 0, timeout 3, non-2xx/3xx 7" */
export function formatErrors(e: WrkErrors): string {
    return `connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}, non-2xx/3xx ${e.non2xx}`;
}

/**
 * Why one side's reports cannot be trusted, or undefined: nothing completed, or errors (all kinds together) above
 * `maxFraction` of the completed requests. A read error per request, say, means wrk reconnected after every
 * response: that side was measured with other connection handling than the other, and its ratio would be unfair.
 */
export function errorProblem(side: string, results: readonly WrkResult[], maxFraction = 0.01): string | undefined {
    const { requests, errors, total } = totalErrors(results);
    if (requests === 0) {
        return `${side}: no request completed`;
    }
    if (total > maxFraction * requests) {
        const share = ((100 * total) / requests).toFixed(2);
        return `${side}: ${total} errors for ${requests} requests (${share}% > ${100 * maxFraction}%): ${formatErrors(errors)}`;
    }
    return undefined;
}

export function wrk(url: string, seconds: number, connections: number, headers: readonly string[] = []): WrkResult {
    const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "--latency", ...headers.flatMap((h) => ["-H", h]), url];
    const res = spawnSync("wrk", args, {
        encoding: "utf8",
        timeout: (seconds + 30) * 1000,
    });
    if (res.status !== 0) {
        throw new Error(`wrk failed (${res.status ?? res.signal}): ${res.stderr}${res.stdout}`);
    }
    return parseWrk(res.stdout);
}
