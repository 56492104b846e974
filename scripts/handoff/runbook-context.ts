/** What every section of RUNBOOK.md reads: the runbook's input, and the values derived from it once. */
import type { HerdConfig, OnpremConfig } from "../../config";
import { dataServices, obj, str, type DataService, type Obj } from "./outputs";
import type { SecretsProviderChoice } from "./transfer-checks";

export interface RunbookInput {
    readonly stack: string;
    /** Where the outputs came from, in words. */
    readonly source: string;
    readonly offline: boolean;
    /** Sanitized outputs. */
    readonly outputs: Obj;
    /** The stack's validated config, when its stack file is here and valid. */
    readonly config: HerdConfig | undefined;
    readonly hasManifests: boolean;
    readonly generatedAt: string;
    /** A --transfer bundle: the stack's state and config file, re-keyed for the customer. */
    readonly transfer?: TransferInfo;
}

/** What a --transfer bundle holds, for the runbook. */
export interface TransferInfo {
    /** The stack the customer creates (the last part of the vendor's stack name). */
    readonly stackName: string;
    readonly provider: SecretsProviderChoice;
    /** File names in the bundle. */
    readonly stateFile: string;
    readonly configFile: string;
    readonly secretsRekeyed: number;
    /** The herd commit the bundle was built from, when known. */
    readonly commit: string | undefined;
}

export interface RunbookContext {
    readonly input: RunbookInput;
    readonly stack: string;
    readonly config: HerdConfig | undefined;
    /** The onprem part of the config, on an onprem stack. */
    readonly onprem: OnpremConfig | undefined;
    /** The output groups. */
    readonly platform: Obj;
    readonly app: Obj;
    readonly images: Obj;
    readonly postgresData: Obj;
    readonly elasticData: Obj;
    /** "aws", "gcp", "onprem" or "unknown". */
    readonly platformName: string;
    readonly ns: string;
    /** `kubectl -n <namespace>`. */
    readonly k: string;
    /** PostgreSQL, Redis, Elasticsearch, in that order. */
    readonly services: readonly [DataService, DataService, DataService];
    readonly postgres: DataService;
    readonly schedule: string;
    readonly retention: number | undefined;
    readonly clusterName: string | undefined;
    readonly region: string | undefined;
    /** The backup CronJob. */
    readonly backupCron: string;
}

/** One part of the runbook: its lines. */
export type RunbookSection = (c: RunbookContext) => string[];

export function runbookContext(input: RunbookInput): RunbookContext {
    const { stack, outputs, config } = input;
    const platform = obj(outputs["platform"]);
    const app = obj(outputs["app"]);
    const ns = str(app["namespace"]) ?? config?.namespace ?? "herd";
    const [postgres, redis, elastic] = dataServices(outputs);
    const postgresData = obj(obj(outputs["data"])["postgres"]);
    return {
        input,
        stack,
        config,
        onprem: config?.platform === "onprem" ? config.onprem : undefined,
        platform,
        app,
        images: obj(outputs["images"]),
        postgresData,
        elasticData: obj(obj(outputs["data"])["elasticsearch"]),
        platformName: str(platform["platform"]) ?? config?.platform ?? "unknown",
        ns,
        k: `kubectl -n ${ns}`,
        services: [postgres, redis, elastic],
        postgres,
        schedule: str(postgresData["backupSchedule"]) ?? config?.data.backup.schedule ?? "0 3 * * *",
        retention: config?.data.backup.retentionDays,
        clusterName: str(platform["clusterName"]),
        region: str(platform["region"]),
        backupCron: `${postgres.workload}-backup`,
    };
}

/** A shell code block; `indent` nests it in a list item (2 spaces under a bullet, 3 under a number). */
export function code(lines: readonly string[], indent = 0): string {
    const pad = " ".repeat(indent);
    return ["```sh", ...lines, "```"].map((l) => `${pad}${l}`).join("\n");
}

export function cronInWords(schedule: string): string {
    const m = /^(\d{1,2}) (\d{1,2}) \* \* \*$/.exec(schedule.trim());
    return m === null ? `on the cron schedule \`${schedule}\`` : `every day at ${m[2].padStart(2, "0")}:${m[1].padStart(2, "0")}`;
}
