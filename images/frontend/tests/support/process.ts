/**
 * Long-running child processes for tests and the benchmark: output to a log file (never an undrained pipe),
 * readiness by polling, and a stop that escalates from SIGTERM to SIGKILL.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";

export interface Service {
    readonly name: string;
    readonly child: ChildProcess;
    readonly logFile: string;
    /** The log so far (for failure messages). */
    log(): string;
    /** Stops the process (signal, then SIGKILL after the grace period); resolves when it has exited. */
    stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartOptions extends Pick<SpawnOptions, "cwd" | "env" | "uid" | "gid"> {
    logFile: string;
}

export function startProcess(name: string, command: string, args: string[], options: StartOptions): Service {
    const fd = fs.openSync(options.logFile, "a");
    if (options.uid !== undefined) {
        // The child reopens /dev/stdout (nginx's access_log): the file must be its own to write.
        fs.fchownSync(fd, options.uid, options.gid ?? options.uid);
    }
    const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env,
        uid: options.uid,
        gid: options.gid,
        stdio: ["ignore", fd, fd],
    });
    fs.closeSync(fd);
    let exited = child.exitCode !== null || child.signalCode !== null;
    const exit = new Promise<void>((resolve) => {
        child.once("exit", () => {
            exited = true;
            resolve();
        });
        child.once("error", () => {
            exited = true;
            resolve();
        });
    });
    const log = () => (fs.existsSync(options.logFile) ? fs.readFileSync(options.logFile, "utf8") : "");
    return {
        name,
        child,
        logFile: options.logFile,
        log,
        async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000) {
            if (exited) {
                return;
            }
            child.kill(signal);
            const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
            await exit;
            clearTimeout(timer);
        },
    };
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true; throws (with the service's log) after `timeoutMs` or if the process died. */
export async function waitFor(service: Service, what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (service.child.exitCode !== null || service.child.signalCode !== null) {
            throw new Error(`${service.name} exited (${service.child.exitCode ?? service.child.signalCode}) before ${what}:\n${service.log().slice(-4000)}`);
        }
        if (await probe().catch(() => false)) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(`${service.name}: timed out after ${timeoutMs} ms waiting for ${what}:\n${service.log().slice(-4000)}`);
        }
        await sleep(100);
    }
}

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ port, host });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}

export async function httpOk(url: string): Promise<boolean> {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
}
