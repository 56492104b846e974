/** The reusable building blocks herd composes per stack. */
export * from "./labels";
export * from "./namespace";
export * from "./pod-security";
export * from "./postgres";
export * from "./quantity";
export * from "./stateful";
