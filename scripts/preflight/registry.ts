/**
 * Whether a registry answers the Docker Registry HTTP API v2 over HTTPS: `GET https://<host>/v2/`, where a registry
 * answers 200 (anonymous) or 401 (log in first). Checked from the machine preflight runs on, not from the nodes.
 * A private CA is trusted through NODE_EXTRA_CA_CERTS, as for any Node.js program.
 */
import * as https from "node:https";

export type RegistryAnswer = { readonly status: number } | { readonly error: string };

/** The registry host of an image reference (`host[:port]/path[:tag|@digest]`); Docker Hub when it names none. */
export function registryHostOf(image: string): string {
    const first = image.split("/")[0] ?? "";
    const hasHost = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
    return hasHost ? first : "registry-1.docker.io";
}

/** GET https://<host>/v2/ with a timeout; never throws. */
export function probeRegistry(host: string, timeoutMs = 10_000): Promise<RegistryAnswer> {
    return new Promise((resolve) => {
        let settled = false;
        const done = (a: RegistryAnswer) => {
            if (!settled) {
                settled = true;
                resolve(a);
            }
        };
        let req: ReturnType<typeof https.get>;
        try {
            req = https.get(`https://${host}/v2/`, { timeout: timeoutMs, headers: { "user-agent": "herd-preflight" } }, (res) => {
                res.resume();
                done({ status: res.statusCode ?? 0 });
            });
        } catch (err) {
            done({ error: `not a host name: ${(err as Error).message}` });
            return;
        }
        req.on("timeout", () => {
            req.destroy();
            done({ error: `no answer within ${Math.round(timeoutMs / 1000)} s` });
        });
        req.on("error", (err: NodeJS.ErrnoException) => {
            const code = err.code ?? "";
            const why =
                code === "ENOTFOUND" || code === "EAI_AGAIN"
                    ? "the name does not resolve here"
                    : code === "ECONNREFUSED"
                      ? "connection refused"
                      : /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)
                        ? `its TLS certificate is not trusted here (${code})`
                        : `${code !== "" ? `${code}: ` : ""}${err.message}`;
            done({ error: why });
        });
    });
}

/** Probes every host, concurrently. */
export async function probeRegistries(hosts: readonly string[], timeoutMs?: number): Promise<Map<string, RegistryAnswer>> {
    const answers = await Promise.all(hosts.map(async (h) => [h, await probeRegistry(h, timeoutMs)] as const));
    return new Map(answers);
}
