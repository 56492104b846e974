/** The reusable building blocks herd composes per stack. Components arrive with the data and app tiers. */
export * from "./labels";
export * from "./namespace";
