/** Cron schedules as Kubernetes CronJobs accept them, checked before a cluster rejects them. */

/** The macros Kubernetes CronJobs accept, as the five fields they stand for. */
const MACROS: Readonly<Record<string, string>> = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
};

/** One field's part: `*`, a number or a range, with an optional step. */
const FIELD = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/;

/** A five-field cron schedule (minute hour day-of-month month day-of-week) or a macro such as @daily. */
export function cronProblem(v: string): string | undefined {
    if (Object.hasOwn(MACROS, v)) {
        return undefined;
    }
    const fields = v.trim().split(/\s+/);
    if (fields.length !== 5) {
        return `expected a cron schedule of 5 fields (minute hour day-of-month month day-of-week) such as "0 3 * * *", got ${fields.length} field${fields.length === 1 ? "" : "s"}`;
    }
    const ranges: [string, number, number][] = [["minute", 0, 59], ["hour", 0, 23], ["day-of-month", 1, 31], ["month", 1, 12], ["day-of-week", 0, 7]];
    for (let i = 0; i < 5; i++) {
        const [label, min, max] = ranges[i];
        for (const part of fields[i].split(",")) {
            const m = FIELD.exec(part);
            const numbers = [m?.[2], m?.[3]].filter((n): n is string => n !== undefined).map(Number);
            if (m === null || numbers.some((n) => n < min || n > max) || (m[4] !== undefined && Number(m[4]) === 0)) {
                return `expected a cron schedule; the ${label} field "${fields[i]}" is not valid (${min}-${max}, *, ranges, lists and steps)`;
            }
        }
    }
    return undefined;
}

function cronField(field: string, min: number, max: number): Set<number> {
    const out = new Set<number>();
    for (const part of field.split(",")) {
        const m = FIELD.exec(part);
        if (m === null) {
            continue;
        }
        const step = m[4] === undefined ? 1 : Number(m[4]);
        const from = m[1] === "*" ? min : Number(m[2]);
        const to = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
        for (let v = from; v <= to; v += step) {
            out.add(v);
        }
    }
    return out;
}

/**
 * The longest time between two consecutive runs of a cron schedule, in seconds (in UTC, over two years, longer until
 * a second run: a schedule restricted to some months or days of the month, even 29 February, is covered). Throws on
 * a schedule cronProblem rejects.
 */
export function longestCronGapSeconds(schedule: string): number {
    const problem = cronProblem(schedule);
    if (problem !== undefined) {
        throw new Error(`schedule: ${problem}`);
    }
    const fields = (MACROS[schedule] ?? schedule).trim().split(/\s+/);
    const [minutes, hours, days, months] = [cronField(fields[0], 0, 59), cronField(fields[1], 0, 23), cronField(fields[2], 1, 31), cronField(fields[3], 1, 12)];
    const weekdays = new Set([...cronField(fields[4], 0, 7)].map((d) => d % 7));
    // Cron's rule: when both day fields are restricted, a day matching either one runs.
    const domAny = fields[2].startsWith("*");
    const dowAny = fields[4].startsWith("*");
    // Day by day, then each matching day's runs in order: the program evaluates this at every start, so no walk over
    // every minute (a million Date objects, ~200 ms). Two years, or up to eight until there are two runs (29 February).
    const times = [...hours].sort((a, b) => a - b).flatMap((h) => [...minutes].sort((a, b) => a - b).map((m) => (h * 60 + m) * 60_000));
    const start = Date.UTC(2024, 0, 1);
    let previous: number | undefined;
    let longest = 0;
    const year = 366 * 86400_000;
    let runs = 0;
    for (let day = start; day < start + 2 * year || (runs < 2 && day < start + 8 * year); day += 86400_000) {
        const d = new Date(day);
        if (!months.has(d.getUTCMonth() + 1)) {
            continue;
        }
        const dom = days.has(d.getUTCDate());
        const dow = weekdays.has(d.getUTCDay());
        const dayMatches = domAny || dowAny ? dom && dow : dom || dow;
        if (!dayMatches) {
            continue;
        }
        for (const offset of times) {
            const t = day + offset;
            if (previous !== undefined) {
                longest = Math.max(longest, (t - previous) / 1000);
            }
            previous = t;
            runs++;
        }
    }
    return longest;
}
