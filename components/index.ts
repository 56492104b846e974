/** The reusable building blocks herd composes per stack. */
export * from "./elastic";
export * from "./api";
export * from "./data-tier";
export * from "./defaults";
export * from "./frontend";
export * from "./images";
export * from "../lib/labels";
export * from "./namespace";
export * from "./network-policy";
export * from "./pod-security";
export * from "./postgres";
export * from "../lib/quantity";
export * from "./redis";
export * from "./validation";
