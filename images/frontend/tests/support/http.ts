/** A plain HTTP client for header assertions: no decompression, no redirects, no connection reuse. */
import * as http from "node:http";

export interface RawResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
    text: string;
}

export function request(
    url: string,
    options: {
        method?: string;
        headers?: Record<string, string>;
        body?: string | Buffer;
        timeoutMs?: number;
        /** The address to connect from (e.g. 127.0.0.2: another client of a server on 127.0.0.1). */
        localAddress?: string;
    } = {},
): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: options.method ?? "GET", headers: options.headers, agent: false, localAddress: options.localAddress }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const body = Buffer.concat(chunks);
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
            });
            res.on("error", reject);
        });
        req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`timed out: ${url}`)));
        req.on("error", reject);
        req.end(options.body);
    });
}
