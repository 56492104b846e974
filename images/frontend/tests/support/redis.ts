/** A real, throwaway redis-server on a free loopback port, with a password and no persistence. */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, which } from "./env";
import { type Service, startProcess, waitFor } from "./process";

export interface Redis extends Service {
    readonly host: string;
    readonly port: number;
    readonly password: string;
}

export function redisUnavailable(): string | undefined {
    return which("redis-server") === undefined ? "redis-server is not installed (apt-get install redis-server)" : undefined;
}

/** AUTH + PING over a raw socket; true on +PONG. */
export function redisPing(port: number, password: string): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ port, host: "127.0.0.1" });
        let data = "";
        socket.setTimeout(1000, () => socket.destroy());
        socket.on("data", (chunk) => {
            data += chunk.toString();
            if (data.includes("+PONG")) {
                socket.end();
                resolve(true);
            }
        });
        socket.on("error", () => resolve(false));
        socket.on("close", () => resolve(data.includes("+PONG")));
        socket.on("connect", () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    });
}

export async function startRedis(password = "herd-e2e-redis"): Promise<Redis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-fe-redis-"));
    const port = await freePort();
    const service = startProcess("redis-server", "redis-server", [
        "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
        "--requirepass", password, "--daemonize", "no", "--logfile", "",
    ], { logFile: path.join(dir, "redis.log") });
    const stop = service.stop;
    const redis: Redis = {
        ...service,
        host: "127.0.0.1",
        port,
        password,
        async stop(signal, graceMs) {
            await stop(signal, graceMs);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    try {
        await waitFor(service, "PONG", () => redisPing(port, password), 15_000);
    } catch (err) {
        await redis.stop();
        throw err;
    }
    return redis;
}
