"use strict";
/**
 * The entry point Pulumi runs (Pulumi.yaml `main`). It registers herd's TypeScript loader and hands over to
 * index.ts, whose exported function is the program. See ts-register.cjs for why this replaces ts-node.
 */
require("./ts-register.cjs");
module.exports = require("./index.ts");
