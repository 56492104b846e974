/**
 * The herd-guardrails policy pack. Run it with a preview (see policy/README.md):
 *
 *     npm ci --prefix policy
 *     pulumi preview --stack <stack> --policy-pack policy [--policy-pack-config policy/exceptions.<stack>.json]
 *
 * This is the only module that constructs the PolicyPack (its constructor starts the analyzer's gRPC server); the
 * policies themselves live in ./policies, which tests import without starting anything.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_DESCRIPTION, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
    description: PACK_DESCRIPTION,
    // Each policy states its own level; this is the default for none.
    enforcementLevel: "mandatory",
    policies,
});
