/** Finding a command on PATH, as a shell would: the first executable file of that name. */
import * as fs from "node:fs";
import * as path from "node:path";

/** The full path of `command` on PATH, or undefined when no directory of PATH holds an executable of that name. */
export function findOnPath(command: string): string | undefined {
    for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
        if (dir === "") {
            continue;
        }
        const file = path.join(dir, command);
        try {
            fs.accessSync(file, fs.constants.X_OK);
            return file;
        } catch {
            // not here
        }
    }
    return undefined;
}
