/**
 * A throwaway certificate authority for tests of TLS servers, made with the openssl command line: the same shapes
 * components/internal-ca.ts makes with @pulumi/tls (ECDSA P-256 keys, a CA certificate, a server certificate for
 * localhost and 127.0.0.1 plus any names given, its key in PKCS#8 PEM), written as tls.crt, tls.key and ca.crt, the
 * file names of the kubernetes.io/tls Secret herd mounts. In CI (CI=true) a missing openssl is a failure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface TestCertificates {
    /** The directory holding tls.crt, tls.key and ca.crt. */
    readonly dir: string;
    readonly caFile: string;
    readonly certFile: string;
    readonly keyFile: string;
    /** The CA certificate's PEM, for a Node.js client's `ca`. */
    readonly caPem: string;
}

/** Why TLS tests cannot run here, or undefined when they can. */
export function opensslUnavailable(): string | undefined {
    return spawnSync("openssl", ["version"]).status === 0 ? undefined : "openssl is not installed (apt-get install openssl)";
}

/**
 * A CA and a server certificate it signed, in `dir` (created if missing). `names` are extra DNS names; the
 * certificate always names localhost and 127.0.0.1, as herd's do. The key file is mode 0600.
 */
export function makeTestCertificates(dir: string, names: readonly string[] = []): TestCertificates {
    fs.mkdirSync(dir, { recursive: true });
    const f = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f("ca.key"));
    openssl("req", "-x509", "-new", "-key", f("ca.key"), "-subj", "/O=herd/CN=herd test CA", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", "-out", f("ca.crt"));
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f("tls.key"));
    openssl("req", "-new", "-key", f("tls.key"), "-subj", "/O=herd/CN=herd test server", "-out", f("tls.csr"));
    const san = ["DNS:localhost", ...names.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(",");
    fs.writeFileSync(f("ext.cnf"), `subjectAltName=${san}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", f("tls.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("ext.cnf"), "-out", f("tls.crt"));
    for (const extra of ["ca.key", "ca.srl", "tls.csr", "ext.cnf"]) {
        fs.rmSync(f(extra), { force: true });
    }
    fs.chmodSync(f("tls.key"), 0o600);
    return { dir, caFile: f("ca.crt"), certFile: f("tls.crt"), keyFile: f("tls.key"), caPem: fs.readFileSync(f("ca.crt"), "utf8") };
}
