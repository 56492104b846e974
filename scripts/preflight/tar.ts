/**
 * A gzipped POSIX ustar archive of text files, written in memory (no tar binary needed on the operator's machine).
 * Regular files only, mode 0644, one fixed mtime; names up to 255 bytes (split into prefix and name at a slash).
 */
import { gzipSync } from "node:zlib";

const BLOCK = 512;

function field(buf: Buffer, offset: number, length: number, value: string): void {
    buf.write(value, offset, Math.min(Buffer.byteLength(value), length), "utf8");
}

function octal(value: number, length: number): string {
    return `${value.toString(8).padStart(length - 1, "0")}\0`;
}

/** Splits a path into ustar's prefix (<= 155 bytes) and name (<= 100 bytes). */
export function splitName(name: string): { prefix: string; name: string } {
    if (Buffer.byteLength(name) <= 100) {
        return { prefix: "", name };
    }
    for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
        const prefix = name.slice(0, i);
        const rest = name.slice(i + 1);
        if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) {
            return { prefix, name: rest };
        }
    }
    throw new Error(`file name too long for a tar archive: ${name}`);
}

function header(name: string, size: number, mtime: number): Buffer {
    const h = Buffer.alloc(BLOCK, 0);
    const split = splitName(name);
    field(h, 0, 100, split.name);
    field(h, 100, 8, octal(0o644, 8));
    field(h, 108, 8, octal(0, 8));
    field(h, 116, 8, octal(0, 8));
    field(h, 124, 12, octal(size, 12));
    field(h, 136, 12, octal(mtime, 12));
    field(h, 148, 8, "        "); // checksum: spaces while summing
    field(h, 156, 1, "0");
    field(h, 257, 6, "ustar\0");
    field(h, 263, 2, "00");
    field(h, 265, 32, "herd");
    field(h, 297, 32, "herd");
    field(h, 345, 155, split.prefix);
    let sum = 0;
    for (const b of h) {
        sum += b;
    }
    field(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    return h;
}

/** The archive: each file as header + content padded to 512 bytes, then two zero blocks; gzipped. */
export function tarGz(files: readonly { readonly name: string; readonly content: string }[], mtime: Date): Buffer {
    const seconds = Math.floor(mtime.getTime() / 1000);
    const parts: Buffer[] = [];
    for (const f of files) {
        const body = Buffer.from(f.content, "utf8");
        parts.push(header(f.name, body.length, seconds), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK, 0));
    }
    parts.push(Buffer.alloc(BLOCK * 2, 0));
    return gzipSync(Buffer.concat(parts));
}
