/** CPU time of a process tree, from /proc (Linux): what a server really spent, whatever else shares the machine. */
import * as fs from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
    pid: number;
    ppid: number;
    /** utime + stime, plus cutime + cstime (children it has reaped, e.g. recycled workers), in seconds */
    cpu: number;
}

function readStat(pid: number): ProcStat | undefined {
    let text: string;
    try {
        text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
        return undefined;
    }
    // The command name may contain spaces and parentheses: fields start after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return { pid, ppid: Number(fields[1]), cpu: ticks / TICKS_PER_SECOND };
}

/**
 * Seconds of CPU used so far by `root` and its descendants: those alive now, and those already reaped by a process
 * of the tree (a recycled uwsgi worker's time moves to the master's cutime/cstime when the master reaps it).
 */
export function treeCpuSeconds(root: number): number {
    const all = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => readStat(Number(d))).filter((s): s is ProcStat => s !== undefined);
    const children = new Map<number, ProcStat[]>();
    for (const s of all) {
        children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
    }
    let total = 0;
    const queue = [root];
    const seen = new Set<number>();
    while (queue.length > 0) {
        const pid = queue.pop() as number;
        if (seen.has(pid)) {
            continue;
        }
        seen.add(pid);
        const stat = all.find((s) => s.pid === pid);
        total += stat?.cpu ?? 0;
        for (const child of children.get(pid) ?? []) {
            queue.push(child.pid);
        }
    }
    return total;
}
