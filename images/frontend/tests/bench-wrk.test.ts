/** The benchmark's reading of wrk's report (the benchmark itself is bench/proxy-bench.ts, not a test). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseWrk } from "../bench/wrk";

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
