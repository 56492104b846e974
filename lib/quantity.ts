/**
 * Kubernetes resource quantities ("512Mi", "1.5Gi", "250m", "2"): parsing, so that sizes are validated before a
 * cluster rejects them and settings can be derived from a memory limit.
 */

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Readonly<Record<string, number>> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The value of a quantity in base units (bytes, cores), or undefined if Kubernetes would not accept it. */
export function parseQuantity(quantity: string): number | undefined {
    const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/.exec(quantity);
    if (m === null) {
        return undefined;
    }
    const [, number, suffix, exponent] = m;
    const value = Number(number);
    if (exponent !== undefined) {
        return value * 10 ** Number(exponent);
    }
    const unit = suffix === undefined ? 1 : (BINARY[suffix] ?? DECIMAL[suffix] ?? Number.NaN);
    return value * unit;
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** Bytes as a whole number of mebibytes, in a form PostgreSQL and Redis settings accept ("512MB"). */
export function toMegabytesSetting(bytes: number): string {
    return `${Math.max(1, Math.floor(bytes / MiB))}MB`;
}
