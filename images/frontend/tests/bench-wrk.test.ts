/** The benchmark's reading of wrk's report (the benchmark itself is bench/proxy-bench.ts, not a test). */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, it } from "node:test";
import { errorProblem, formatErrors, parseWrk, totalErrors } from "../bench/wrk";

const REPORT = `Running 5s test @ http://127.0.0.1:40897/api/healthz
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   691.22us  451.05us  12.61ms   93.90%
    Req/Sec    21.82k     1.74k   24.02k    76.00%
  Latency Distribution
     50%  608.00us
     75%  744.00us
     90%  0.94ms
     99%    2.10ms
  108610 requests in 5.00s, 17.30MB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  21702.33
Transfer/sec:      3.46MB
`;

// wrk reports recorded against the real stack (see the file's header): straight to uwsgi's http-socket as the
// benchmark used to run it (a read error per request), the same as it runs now (no error), and through nginx to a
// path the API does not have (every answer a 404).
const RECORDED = new Map(
    fs.readFileSync(new URL("../bench/wrk-reports.txt", import.meta.url), "utf8")
        .split(/^##### /m)
        .slice(1)
        .map((part) => [part.slice(0, part.indexOf("\n")), part.slice(part.indexOf("\n") + 1).replace(/^#.*\n/gm, "")] as const),
);
function recorded(name: string): string {
    const report = RECORDED.get(name);
    assert.ok(report !== undefined, `no recorded report ${name}`);
    return report;
}
const DIRECT_BEFORE = recorded("direct-before");
const DIRECT_NOW = recorded("direct-now");
const NGINX_404 = recorded("nginx-404");

describe("parseWrk", () => {
    it("reads requests/s, counts, errors and latency percentiles (in ms)", () => {
        assert.deepEqual(parseWrk(REPORT), {
            requestsPerSecond: 21702.33,
            requests: 108610,
            non2xx: 7,
            socketErrors: { connect: 0, read: 12, write: 0, timeout: 3 },
            latencyP50Ms: 0.608,
            latencyP99Ms: 2.1,
        });
    });

    it("a clean report has zero errors", () => {
        const clean = REPORT.replace(/ {2}Socket errors.*\n/, "").replace(/ {2}Non-2xx.*\n/, "");
        const r = parseWrk(clean);
        assert.deepEqual([r.non2xx, r.socketErrors.timeout], [0, 0]);
    });

    it("refuses output without Requests/sec", () => {
        assert.throws(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused"), /no Requests\/sec/);
    });
});

describe("error counting (recorded reports)", () => {
    it("reads the read error wrk logs on every request straight to uwsgi's http-socket", () => {
        const r = parseWrk(DIRECT_BEFORE);
        assert.equal(r.requests, 7954);
        assert.deepEqual(r.socketErrors, { connect: 0, read: 7952, write: 0, timeout: 0 });
        assert.equal(r.non2xx, 0);
    });

    it("adds up requests and every kind of error over rounds", () => {
        const t = totalErrors([parseWrk(REPORT), parseWrk(DIRECT_BEFORE), parseWrk(NGINX_404), parseWrk(DIRECT_NOW)]);
        assert.deepEqual(t, {
            requests: 108610 + 7954 + 4627 + 9062,
            errors: { connect: 0, read: 12 + 7952, write: 0, timeout: 3, non2xx: 7 + 4627 },
            total: 12 + 7952 + 3 + 7 + 4627,
        });
        assert.equal(formatErrors(t.errors), "connect 0, read 7964, write 0, timeout 3, non-2xx/3xx 4634");
    });

    it("a side with a read error per request is refused: it was not measured like the other", () => {
        assert.equal(
            errorProblem("straight to uwsgi", [parseWrk(DIRECT_NOW), parseWrk(DIRECT_BEFORE)]),
            "straight to uwsgi: 7952 errors for 17016 requests (46.73% > 1%): connect 0, read 7952, write 0, timeout 0, non-2xx/3xx 0",
        );
    });

    it("non-2xx/3xx answers count as errors", () => {
        assert.match(errorProblem("through nginx", [parseWrk(NGINX_404)]) ?? "", /^through nginx: 4627 errors for 4627 requests \(100\.00% > 1%\): .*non-2xx\/3xx 4627$/);
    });

    it("a clean side passes; errors up to the fraction pass, above it fail", () => {
        assert.equal(errorProblem("straight to uwsgi", [parseWrk(DIRECT_NOW)]), undefined);
        // REPORT: 22 errors in 108610 requests, 0.02%.
        assert.equal(errorProblem("through nginx", [parseWrk(REPORT)]), undefined);
        assert.equal(errorProblem("through nginx", [parseWrk(REPORT)], 0.0003), undefined);
        assert.match(errorProblem("through nginx", [parseWrk(REPORT)], 0.0002) ?? "", /22 errors for 108610 requests/);
    });

    it("a side that completed nothing is refused", () => {
        assert.equal(errorProblem("through nginx", []), "through nginx: no request completed");
        const none = { ...parseWrk(DIRECT_NOW), requests: 0 };
        assert.equal(errorProblem("through nginx", [none]), "through nginx: no request completed");
    });
});
