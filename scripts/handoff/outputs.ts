/** Reading the stack outputs defensively: an outputs file may come from an older or newer herd. */
import { REDACTED } from "./redaction";

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

/** A non-empty string or a number as text; undefined for anything else, "[secret]" included. */
export function str(v: unknown): string | undefined {
    if (typeof v === "string" && v !== "" && v !== REDACTED) {
        return v;
    }
    return typeof v === "number" ? String(v) : undefined;
}

export interface DataService {
    readonly title: string;
    readonly key: "postgres" | "redis" | "elasticsearch";
    readonly host: string | undefined;
    readonly port: string | undefined;
    readonly secretName: string | undefined;
    readonly passwordKey: string | undefined;
    /** The StatefulSet / Service name: the first label of the host. */
    readonly workload: string;
    /** Its main container. */
    readonly container: string;
}

export function dataServices(outputs: Obj): [DataService, DataService, DataService] {
    const data = obj(outputs["data"]);
    const entry = (key: DataService["key"], title: string, fallback: string, container: string): DataService => {
        const d = obj(data[key]);
        const host = str(d["host"]);
        return {
            key,
            title,
            host,
            port: str(d["port"]),
            secretName: str(d["secretName"]),
            passwordKey: str(d["passwordKey"]),
            workload: host?.split(".")[0] ?? fallback,
            container,
        };
    };
    return [
        entry("postgres", "PostgreSQL", "postgres", "postgres"),
        entry("redis", "Redis", "redis", "redis"),
        entry("elasticsearch", "Elasticsearch", "elastic", "elasticsearch"),
    ];
}
