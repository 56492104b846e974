/**
 * Keeping secrets out of the handoff bundle: credentials in the outputs are replaced by "[secret]", and every file is
 * checked for the stack's secret values before anything is written.
 */

export const REDACTED = "[secret]";

/**
 * Output fields that hold a credential whatever their value looks like: `kubeconfig`, `secret`, `credentials`, and
 * anything ending in password, token or a kind of key (`registryPassword`, `apiToken`, `privateKey`). Names of
 * secrets are not secrets: `secretName`, `passwordKey`, `backupCredentialsSecret` are kept.
 */
const SECRET_FIELD = /^(kubeconfig(json)?|secret|credentials?)$|(password|passwd|token|privatekey|apikey|secretkey|accesskey|clientkey)$/i;

/** Text that is a credential whatever field it sits in: a private key, or a kubeconfig carrying a key or token. */
export function looksLikeCredential(text: string): boolean {
    if (/PRIVATE KEY-----/.test(text) || /client-key-data/.test(text)) {
        return true;
    }
    const kubeconfig = /\bkind:\s*["']?Config\b/.test(text) || /"kind"\s*:\s*"Config"/.test(text);
    return kubeconfig && (/\busers\b/.test(text) || /\btoken\b/.test(text));
}

/** A copy of the outputs with every credential replaced by "[secret]", and the paths that were replaced. */
export function sanitizeOutputs(value: unknown): { value: unknown; redacted: string[] } {
    const redacted: string[] = [];
    const walk = (v: unknown, at: string, key: string): unknown => {
        if (v === REDACTED) {
            return v;
        }
        if ((SECRET_FIELD.test(key) && v !== null && v !== "") || (typeof v === "string" && looksLikeCredential(v))) {
            redacted.push(at);
            return REDACTED;
        }
        if (Array.isArray(v)) {
            return v.map((x, i) => walk(x, `${at}[${i}]`, ""));
        }
        if (typeof v === "object" && v !== null) {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, at === "" ? k : `${at}.${k}`, k)]));
        }
        return v;
    };
    return { value: walk(value, "", ""), redacted };
}

/** Problems found in the bundle's files: a known secret value, or a credential-shaped text. Never the value itself. */
export function findLeaks(files: Readonly<Record<string, string>>, secretValues: readonly string[]): string[] {
    const problems: string[] = [];
    for (const [name, text] of Object.entries(files)) {
        if (secretValues.some((s) => s.length >= 6 && text.includes(s))) {
            problems.push(`${name}: contains a secret value of the stack`);
        }
        if (/PRIVATE KEY-----/.test(text) || /client-key-data/.test(text)) {
            problems.push(`${name}: contains a private key`);
        }
    }
    return problems;
}
