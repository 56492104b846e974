"use strict";
/**
 * The entry point Pulumi runs (Pulumi.yaml `main`). It registers herd's TypeScript loader and hands over to
 * index.ts, whose exported function is the program. See ts-register.cjs for why this replaces ts-node.
 */
// Pulumi.yaml's nodeargs (--require ./ts-register.cjs) loads the loader before @pulumi/pulumi, so its code cache
// covers the SDK too; @pulumi/pulumi's run.js then installs source-map-support's stack formatter over herd's, which
// this puts back in front (see ts-register.cjs).
require("./ts-register.cjs").installStackFormatting();
module.exports = require("./index.ts");
