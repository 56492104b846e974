import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { State, suffix, wrapSecret } from "./mock-values";

/**
 * Mock answers for @pulumi/tls: PEM-looking keys and certificates.
 * The engine marks a PrivateKey's PEM outputs secret (additionalSecretOutputs); mocks do not, so they come wrapped.
 */

/** A PEM block with a deterministic body: looks like the real thing to code that only passes it on. */
function pem(label: string, seed: string): string {
    const body = createHash("sha512").update(seed).digest("base64");
    return `-----BEGIN ${label}-----\n${body.slice(0, 64)}\n${body.slice(64)}\n-----END ${label}-----\n`;
}

/** Answers for `tls:` resources, or undefined for any other type. */
export function tlsState(args: pulumi.runtime.MockResourceArgs): { id: string; state: State } | undefined {
    const inputs = (args.inputs ?? {}) as State;
    const id = suffix(`tls:${args.type}::${args.name}`, 40);
    const seed = `${args.type}::${args.name}`;
    switch (args.type) {
        case "tls:index/privateKey:PrivateKey": {
            const algorithm = String(inputs["algorithm"] ?? "RSA");
            const label = algorithm === "ECDSA" ? "EC PRIVATE KEY" : algorithm === "ED25519" ? "PRIVATE KEY" : "RSA PRIVATE KEY";
            return {
                id,
                state: {
                    ...inputs,
                    privateKeyPem: wrapSecret(pem(label, `private:${seed}`)),
                    privateKeyPemPkcs8: wrapSecret(pem("PRIVATE KEY", `pkcs8:${seed}`)),
                    privateKeyOpenssh: wrapSecret(pem("OPENSSH PRIVATE KEY", `openssh:${seed}`)),
                    publicKeyPem: pem("PUBLIC KEY", `public:${seed}`),
                    publicKeyOpenssh: `ssh-${algorithm.toLowerCase()} ${suffix(`ssh:${seed}`, 40)}`,
                    publicKeyFingerprintSha256: `SHA256:${suffix(`fp:${seed}`, 43)}`,
                    publicKeyFingerprintMd5: suffix(`md5:${seed}`, 32).replace(/(..)(?!$)/g, "$1:"),
                },
            };
        }
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return {
                id,
                state: {
                    ...inputs,
                    certPem: pem("CERTIFICATE", `cert:${seed}`),
                    validityStartTime: "2026-01-01T00:00:00Z",
                    validityEndTime: "2036-01-01T00:00:00Z",
                    readyForRenewal: false,
                },
            };
        case "tls:index/certRequest:CertRequest":
            return { id, state: { ...inputs, certRequestPem: pem("CERTIFICATE REQUEST", `csr:${seed}`) } };
        default:
            return undefined;
    }
}
