/** Runs wrk (Debian's) against one URL and reads its report. */
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

export function wrk(url: string, seconds: number, connections: number): WrkResult {
    const res = spawnSync("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "--latency", url], {
        encoding: "utf8",
        timeout: (seconds + 30) * 1000,
    });
    if (res.status !== 0) {
        throw new Error(`wrk failed (${res.status ?? res.signal}): ${res.stderr}${res.stdout}`);
    }
    return parseWrk(res.stdout);
}

