/**
 * GKE's maintenance policy as herd's config states it, and the limits GKE puts on it, checked before anything reaches
 * the API (pure: the key schemas, the gcp build rules and platform/gcp/cluster.ts share it).
 *
 * The window: weekly, on the given days (UTC), from a start time for a whole number of hours. GKE requires at least
 * 48 hours of maintenance availability in any rolling 32 days, and counts only contiguous stretches of at least 4
 * hours. Any 32 consecutive days hold at least 4 whole occurrences of each weekday's window (32 days are 4 weeks and
 * 4 days, and a window is at most 24 hours), so `4 x days x hours` is the availability herd can promise, and it
 * must reach 48.
 *
 * An exclusion: "name,start,end,scope", start and end RFC 3339 in UTC ("Zulu": GKE answers in UTC, so another
 * offset would show as a permanent diff). NO_UPGRADES blocks every upgrade and may last at most 30 days;
 * NO_MINOR_UPGRADES (patches still apply) and NO_MINOR_OR_NODE_UPGRADES (control-plane patches only) may last until
 * the cluster's minor version reaches end of support, a date only GKE knows: `pulumi up` reports an end past it.
 */

export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const EXCLUSION_SCOPES = ["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] as const;
export type ExclusionScope = (typeof EXCLUSION_SCOPES)[number];

/** GKE: at least this much maintenance availability in any rolling `AVAILABILITY_PERIOD_DAYS`. */
export const MIN_AVAILABILITY_HOURS = 48;
export const AVAILABILITY_PERIOD_DAYS = 32;
/** GKE counts only contiguous availability of at least this many hours. */
export const MIN_WINDOW_HOURS = 4;
/** A window is at most a day long: a longer one would overlap its next day's occurrence. */
export const MAX_WINDOW_HOURS = 24;
/** GKE: a NO_UPGRADES exclusion lasts at most 30 days. */
export const MAX_NO_UPGRADES_DAYS = 30;
/** GKE: at most 3 NO_UPGRADES exclusions, and at most 20 exclusions in all, on a cluster. */
export const MAX_NO_UPGRADES_EXCLUSIONS = 3;
export const MAX_EXCLUSIONS = 20;

/** The recurring window: weekly on `days` (UTC), from `start` ("HH:MM" UTC) for `hours`. No days: no window. */
export interface MaintenanceWindow {
    readonly start: string;
    readonly hours: number;
    readonly days: readonly Weekday[];
}

export interface MaintenanceExclusion {
    readonly name: string;
    /** RFC 3339, UTC, seconds precision: "2025-11-27T00:00:00Z". */
    readonly start: string;
    readonly end: string;
    readonly scope: ExclusionScope;
}

const UTC_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
export const EXCLUSION_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const START_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Milliseconds since the epoch of an RFC 3339 UTC timestamp; undefined when it is not one or names no real time. */
export function utcTimestamp(v: string): number | undefined {
    const m = UTC_TIMESTAMP.exec(v);
    if (m === null) {
        return undefined;
    }
    const t = Date.parse(v);
    // Date.parse rolls 2025-02-30 over to March: a real date prints back as written.
    return Number.isNaN(t) || new Date(t).toISOString().replace(".000Z", "Z") !== v ? undefined : t;
}

/** The least maintenance availability, in hours, the window leaves in any rolling 32 days. */
export function guaranteedAvailabilityHours(window: Pick<MaintenanceWindow, "hours" | "days">): number {
    const wholeWeeks = Math.floor(AVAILABILITY_PERIOD_DAYS / 7);
    return wholeWeeks * window.days.length * window.hours;
}

/**
 * An exclusion entry, or what is wrong with it ("expected ..."). Its own limits only: the rules that span entries
 * (distinct names, how many) are the gcp build's.
 */
export function parseExclusion(entry: string): MaintenanceExclusion | { readonly problem: string } {
    const format = 'expected "name,start,end,scope" such as "black-friday,2025-11-27T00:00:00Z,2025-12-02T00:00:00Z,NO_UPGRADES"';
    const parts = entry.split(",").map((p) => p.trim());
    if (parts.length !== 4) {
        return { problem: `${format} (4 fields separated by commas)` };
    }
    const [name, start, end, scope] = parts as [string, string, string, string];
    if (!EXCLUSION_NAME.test(name)) {
        return { problem: `${format}: the name in lowercase letters, digits and '-' (at most 63)` };
    }
    const from = utcTimestamp(start);
    const to = utcTimestamp(end);
    if (from === undefined || to === undefined) {
        return { problem: `${format}: start and end as RFC 3339 times in UTC, YYYY-MM-DDTHH:MM:SSZ` };
    }
    if (to <= from) {
        return { problem: "expected an exclusion whose end comes after its start" };
    }
    if (!(EXCLUSION_SCOPES as readonly string[]).includes(scope)) {
        return { problem: `${format}: the scope one of ${EXCLUSION_SCOPES.join(", ")}` };
    }
    const days = (to - from) / 86_400_000;
    if (scope === "NO_UPGRADES" && days > MAX_NO_UPGRADES_DAYS) {
        return {
            problem: `expected a NO_UPGRADES exclusion of at most ${MAX_NO_UPGRADES_DAYS} days (GKE's limit; NO_MINOR_UPGRADES or NO_MINOR_OR_NODE_UPGRADES may last longer), got ${+days.toFixed(2)} days`,
        };
    }
    return { name, start, end, scope: scope as ExclusionScope };
}

/** The first of `days` on or after Monday 2025-01-06, at `start` UTC: the window's fixed anchor (see below). */
function anchorDate(days: readonly Weekday[], start: string): Date {
    const first = Math.min(...days.map((d) => WEEKDAYS.indexOf(d)));
    const [h, m] = start.split(":").map(Number) as [number, number];
    return new Date(Date.UTC(2025, 0, 6 + first, h, m, 0));
}

/**
 * The window as GKE's recurringWindow takes it: a first occurrence (its date is where the recurrence starts, its
 * times give the time of day and the length) and an RFC 5545 RRULE. The first occurrence is a fixed date in the
 * past on one of the window's own days, so the rule and its start agree (RFC 5545 leaves a start outside the rule
 * undefined) and the same config always renders the same times: no diff on every run. Undefined when there are no
 * days (no window: GKE may maintain at any time).
 */
export function recurringWindow(window: MaintenanceWindow): { startTime: string; endTime: string; recurrence: string } | undefined {
    if (window.days.length === 0) {
        return undefined;
    }
    const days = WEEKDAYS.filter((d) => window.days.includes(d));
    const start = anchorDate(days, window.start);
    const end = new Date(start.getTime() + window.hours * 3_600_000);
    const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
    return { startTime: iso(start), endTime: iso(end), recurrence: `FREQ=WEEKLY;BYDAY=${days.join(",")}` };
}
