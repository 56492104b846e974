/** Cron schedules as Kubernetes CronJobs accept them, checked before a cluster rejects them. */

/** A five-field cron schedule (minute hour day-of-month month day-of-week) or a macro such as @daily. */
export function cronProblem(v: string): string | undefined {
    if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(v)) {
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
            const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
            const numbers = [m?.[2], m?.[3]].filter((n): n is string => n !== undefined).map(Number);
            if (m === null || numbers.some((n) => n < min || n > max) || (m[4] !== undefined && Number(m[4]) === 0)) {
                return `expected a cron schedule; the ${label} field "${fields[i]}" is not valid (${min}-${max}, *, ranges, lists and steps)`;
            }
        }
    }
    return undefined;
}
