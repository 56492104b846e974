/**
 * ApiAuth: the API's sign-in. One admin login with a generated password (32 letters and digits) and a generated
 * session-signing secret (64), kept in the Secret `api-auth` (keys `username`, `password`, `session-secret`) through
 * the platform's secrets provider, so a rendered bundle never holds them. The API reads them through secretKeyRef
 * (apiAuthEnv); the stack hands the password out only as a secret output.
 *
 * Rotation: `pulumi up --replace <urn of the RandomPassword api-auth-password>` (or `-session-secret`, which signs
 * every session out). The Secret changes, and so does `revision`, a digest of the credential on the API's pod
 * template: the API rolls to pods that read the new values (an env var from a Secret is read only at start), and the
 * old password stops working once the rollout ends.
 */
import { createHash } from "node:crypto";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { KEYS, numberDefault, stringDefault } from "../config";
import { recommendedLabels } from "../lib/labels";
import { secretOptions } from "./data-tier";
import { withDefaults } from "./defaults";
import { Problem, problem, throwIfProblems } from "./validation";

/** The Secret's keys (the names are herd's; the API's env names are in apiAuthEnv). */
export const API_AUTH_KEYS = { username: "username", password: "password", sessionSecret: "session-secret" } as const;
/** The pod-template annotation that carries ApiAuthSettings.revision. */
export const API_AUTH_REVISION_ANNOTATION = "herd.dev/api-auth-revision";
/** The generated password's length: letters and digits only (no escaping in a shell, a URL or a Basic header). */
export const ADMIN_PASSWORD_LENGTH = 32;
/** The session-signing secret's length (the API needs at least 32 characters). */
export const SESSION_SECRET_LENGTH = 64;

export interface ApiAuthArgs {
    /** Namespace of the Secret: pass the Namespace resource's `metadata.name`, so the Secret waits for it. */
    readonly namespace: pulumi.Input<string>;
    /** The admin's user name. @default config key `adminUsername` ("admin") */
    readonly username?: string;
    /** How long a sign-in lasts, 1 to 168 hours. @default config key `apiSessionHours` (12) */
    readonly sessionHours?: number;
    /** Reads need sign-in too; writes always do. @default config key `apiReadsRequireSignIn` (false) */
    readonly readsRequireSignIn?: boolean;
    /**
     * The session cookie carries `Secure` (browsers send it over HTTPS only): true whenever the site is served over
     * HTTPS (Frontend's siteServedOverHttps). Over plain HTTP it must be false, or no browser could stay signed in.
     * @default true
     */
    readonly cookieSecure?: boolean;
    /** The provider for the Secret (the platform's `secretsProvider`; see DataComponentArgs). @default the component's */
    readonly secretsProvider?: k8s.Provider;
}

export function apiAuthDefaults(args: ApiAuthArgs) {
    return withDefaults(args, {
        username: stringDefault("adminUsername"),
        sessionHours: numberDefault("apiSessionHours"),
        readsRequireSignIn: KEYS.apiReadsRequireSignIn.default,
        cookieSecure: true,
    });
}

export type ApiAuthResolved = ReturnType<typeof apiAuthDefaults>;

/** Every problem with the arguments: the same rules as the config keys that set them. */
export function apiAuthProblems(r: ApiAuthResolved): Problem[] {
    const problems: Problem[] = [];
    const username = KEYS.adminUsername.schema.safeParse(r.username);
    if (!username.success) {
        problems.push(problem("username", `${username.error.issues.map((i) => i.message).join("; ")}, got ${JSON.stringify(r.username)}`));
    }
    if (!Number.isInteger(r.sessionHours) || r.sessionHours < 1 || r.sessionHours > 168) {
        problems.push(problem("sessionHours", `expected a whole number of hours from 1 to 168, got ${r.sessionHours}`));
    }
    return problems;
}

/** What ApiService needs to wire sign-in: the Secret, the session settings, and the credential's revision. */
export interface ApiAuthSettings {
    /** The Secret with API_AUTH_KEYS: its fixed name (a new credential replaces the Secret; see InternalCa). */
    readonly secretName: string;
    /** The Secret itself, for the API to order itself after. */
    readonly secret?: pulumi.Resource;
    readonly sessionHours: number;
    readonly readsRequireSignIn: boolean;
    readonly cookieSecure: boolean;
    /** A digest of the credential (never the credential): on the pod template, so a new one rolls the API. */
    readonly revision: pulumi.Input<string>;
}

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** The API's sign-in env (the names are the API's: images/api/README.md): every credential through secretKeyRef. */
export function apiAuthEnv(s: ApiAuthSettings): EnvVar[] {
    const fromSecret = (name: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: s.secretName, key } } });
    return [
        fromSecret("HERD_ADMIN_USERNAME", API_AUTH_KEYS.username),
        fromSecret("HERD_ADMIN_PASSWORD", API_AUTH_KEYS.password),
        fromSecret("HERD_SESSION_SECRET", API_AUTH_KEYS.sessionSecret),
        { name: "HERD_SESSION_HOURS", value: String(s.sessionHours) },
        { name: "HERD_SESSION_COOKIE_SECURE", value: String(s.cookieSecure) },
        { name: "HERD_READS_REQUIRE_SIGN_IN", value: String(s.readsRequireSignIn) },
    ];
}

/** The revision of a credential: 16 hex digits of a SHA-256 over its parts; reveals nothing of 190+ random bits. */
export function credentialRevision(parts: readonly string[]): string {
    return createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16);
}

export class ApiAuth extends pulumi.ComponentResource {
    /** The Secret's name: the component's. */
    readonly secretName: string;
    readonly username: string;
    /** The generated password: a secret Output. */
    readonly password: pulumi.Output<string>;
    /** What ApiService takes. */
    readonly settings: ApiAuthSettings;

    constructor(name: string, args: ApiAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:ApiAuth", name, {}, opts);
        const r = apiAuthDefaults(args);
        throwIfProblems("ApiAuth", name, apiAuthProblems(r), this);

        // Letters and digits: typed by hand, sent in a Basic header or a JSON body, pasted into a shell.
        const password = new random.RandomPassword(`${name}-password`, { length: ADMIN_PASSWORD_LENGTH, special: false }, { parent: this });
        const sessionSecret = new random.RandomPassword(`${name}-session-secret`, { length: SESSION_SECRET_LENGTH, special: false }, { parent: this });
        const secret = new k8s.core.v1.Secret(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: recommendedLabels({ name: "api", instance: name, component: "auth" }) },
                type: "Opaque",
                stringData: {
                    [API_AUTH_KEYS.username]: r.username,
                    [API_AUTH_KEYS.password]: password.result,
                    [API_AUTH_KEYS.sessionSecret]: sessionSecret.result,
                },
            },
            // Nothing is lost with it (a new credential is generated): not protected.
            secretOptions(this, false, args.secretsProvider),
        );
        this.secretName = name;
        this.username = r.username;
        this.password = pulumi.secret(password.result);
        this.settings = {
            secretName: this.secretName,
            secret,
            sessionHours: r.sessionHours,
            readsRequireSignIn: r.readsRequireSignIn,
            cookieSecure: r.cookieSecure,
            revision: pulumi.unsecret(pulumi.all([password.result, sessionSecret.result]).apply(([p, s]) => credentialRevision([r.username, p, s]))),
        };
        this.registerOutputs({ secretName: this.secretName, username: this.username, password: this.password });
    }
}
