/** The reusable building blocks herd composes per stack. */
export * from "./elastic";
export * from "./api";
export * from "./frontend";
export * from "./images";
export * from "./labels";
export * from "./namespace";
export * from "./pod-security";
export * from "./postgres";
export * from "./quantity";
export * from "./redis";
export * from "./stateful";
