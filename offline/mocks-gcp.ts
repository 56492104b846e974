/**
 * Mock answers for GCP: the ids, self links, emails, endpoints and CA the providers report, and the invokes the GCP
 * platform makes. `gcpState` returns undefined for types outside `gcp:`; a `gcp:` type it has no answer for fails
 * loudly, so a new resource cannot silently run on a made-up state: add a realistic answer here.
 */
import type * as pulumi from "@pulumi/pulumi";
import { physicalName, Placement, State, suffix, wrapSecret } from "./mock-values";

const COMPUTE = "https://www.googleapis.com/compute/v1";

function text(inputs: State, key: string, fallback: string): string {
    const v = inputs[key];
    return typeof v === "string" && v !== "" ? v : fallback;
}

/**
 * Extra state per type, from the inputs, the resource's (auto-)name and where it lands (its own project and region
 * inputs, else its provider's). Returns the provider id.
 */
type Answer = (inputs: State, name: string, state: State, args: pulumi.runtime.MockResourceArgs, at: Placement) => string;

const ETAG = (args: pulumi.runtime.MockResourceArgs) => `BwY${suffix(`etag:${args.name}`, 10)}=`;

const ANSWERS: Readonly<Record<string, Answer>> = {
    "gcp:compute/network:Network": (_inputs, name, state, _args, at) => {
        const id = `projects/${at.project}/global/networks/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        state["numericId"] = String(parseInt(suffix(`net:${name}`, 12), 16));
        return id;
    },
    "gcp:compute/subnetwork:Subnetwork": (inputs, name, state, _args, at) => {
        const id = `projects/${at.project}/regions/${text(inputs, "region", at.region)}/subnetworks/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        const primary = text(inputs, "ipCidrRange", "10.10.0.0/20");
        state["gatewayAddress"] = primary.replace(/\.\d+\/\d+$/, ".1");
        return id;
    },
    "gcp:compute/router:Router": (inputs, name, state, _args, at) => {
        const id = `projects/${at.project}/regions/${text(inputs, "region", at.region)}/routers/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        return id;
    },
    "gcp:dns/managedZone:ManagedZone": (_inputs, name, state, _args, at) => {
        state["project"] = at.project;
        state["managedZoneId"] = parseInt(suffix(`zone:${name}`, 12), 16);
        return `projects/${at.project}/managedZones/${name}`;
    },
    "gcp:compute/route:Route": (_inputs, name, state, _args, at) => {
        const id = `projects/${at.project}/global/routes/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        return id;
    },
    "gcp:compute/routerNat:RouterNat": (inputs, name, _state, _args, at) => `${at.project}/${text(inputs, "region", at.region)}/${String(inputs["router"])}/${name}`,
    "gcp:container/cluster:Cluster": (inputs, name, state, args, at) => {
        const location = text(inputs, "location", at.region);
        const id = `projects/${at.project}/locations/${location}/clusters/${name}`;
        state["selfLink"] = `https://container.googleapis.com/v1/${id}`;
        state["endpoint"] = `34.${parseInt(suffix(args.name, 2), 16)}.${parseInt(suffix(`${args.name}x`, 2), 16)}.10`;
        state["masterAuth"] = {
            clientCertificate: "",
            clientKey: "",
            clientCertificateConfig: { issueClientCertificate: false },
            clusterCaCertificate: Buffer.from(`-----BEGIN CERTIFICATE-----\nMOCK-CA-${args.name}\n-----END CERTIFICATE-----\n`).toString("base64"),
        };
        const privateCluster = (inputs["privateClusterConfig"] as State | undefined) ?? {};
        const master = text(privateCluster, "masterIpv4CidrBlock", "172.16.0.0/28").split("/")[0].split(".").map(Number);
        state["privateClusterConfig"] = {
            ...privateCluster,
            privateEndpoint: [master[0], master[1], master[2], master[3] + 2].join("."),
            publicEndpoint: privateCluster["enablePrivateEndpoint"] === true ? "" : state["endpoint"],
            peeringName: `gke-n${suffix(name, 17)}-peer`,
        };
        state["masterVersion"] = `${text(inputs, "minMasterVersion", "1.33")}.5-gke.1080000`;
        state["labelFingerprint"] = suffix(`labels:${name}`, 8);
        return id;
    },
    "gcp:container/nodePool:NodePool": (inputs, name, state, _args, at) => {
        const cluster = text(inputs, "cluster", "cluster");
        state["instanceGroupUrls"] = ["a", "b", "c"].map(
            (z) => `${COMPUTE}/projects/${at.project}/zones/${at.region}-${z}/instanceGroupManagers/gke-${name}-grp`,
        );
        return cluster.startsWith("projects/") ? `${cluster}/nodePools/${name}` : `${at.project}/${at.region}/${cluster}/${name}`;
    },
    "gcp:serviceaccount/account:Account": (inputs, _name, state, args, at) => {
        const email = `${text(inputs, "accountId", args.name)}@${at.project}.iam.gserviceaccount.com`;
        const id = `projects/${at.project}/serviceAccounts/${email}`;
        state["name"] = id;
        state["email"] = email;
        state["member"] = `serviceAccount:${email}`;
        state["project"] = at.project;
        state["uniqueId"] = String(BigInt(`0x${suffix(`sa:${email}`, 15)}`));
        return id;
    },
    "gcp:artifactregistry/repository:Repository": (inputs, _name, state, args, at) => {
        const location = text(inputs, "location", at.region);
        const repositoryId = text(inputs, "repositoryId", args.name);
        const id = `projects/${at.project}/locations/${location}/repositories/${repositoryId}`;
        state["name"] = repositoryId;
        state["project"] = at.project;
        state["registryUri"] = `${location}-docker.pkg.dev/${at.project}/${repositoryId}`;
        return id;
    },
    "gcp:compute/globalAddress:GlobalAddress": (_inputs, name, state, args, at) => {
        const id = `projects/${at.project}/global/addresses/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        // A documentation address (TEST-NET-2): never a real one.
        state["address"] = `198.51.100.${parseInt(suffix(`address:${args.name}`, 2), 16) % 250}`;
        return id;
    },
    "gcp:compute/sSLPolicy:SSLPolicy": (_inputs, name, state, args, at) => {
        const id = `projects/${at.project}/global/sslPolicies/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        state["fingerprint"] = ETAG(args);
        return id;
    },
    "gcp:dns/recordSet:RecordSet": (inputs, _name, state, _args, at) => {
        state["project"] = text(inputs, "project", at.project);
        return `projects/${String(state["project"])}/managedZones/${String(inputs["managedZone"])}/rrsets/${String(inputs["name"])}/${String(inputs["type"])}`;
    },
    "gcp:storage/bucket:Bucket": (_inputs, name, state, _args, at) => {
        state["url"] = `gs://${name}`;
        state["selfLink"] = `https://www.googleapis.com/storage/v1/b/${name}`;
        state["project"] = at.project;
        return name;
    },
    "gcp:projects/iAMMember:IAMMember": (inputs, _name, state, args, at) => {
        state["etag"] = ETAG(args);
        return `${at.project}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": (inputs, _name, state, args, at) => {
        state["etag"] = ETAG(args);
        return `projects/${at.project}/locations/${String(inputs["location"])}/repositories/${String(inputs["repository"])}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
    "gcp:storage/bucketIAMMember:BucketIAMMember": (inputs, _name, state, args) => {
        state["etag"] = ETAG(args);
        // A conditional grant is its own binding: the provider's id carries the condition's title.
        const condition = inputs["condition"] as { title?: unknown } | undefined;
        const title = typeof condition?.title === "string" ? `/${condition.title}` : "";
        return `b/${String(inputs["bucket"])}/${String(inputs["role"])}/${String(inputs["member"])}${title}`;
    },
    "gcp:serviceaccount/iAMMember:IAMMember": (inputs, _name, state, args) => {
        state["etag"] = ETAG(args);
        return `${String(inputs["serviceAccountId"])}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
};

/** The answer for a GCP resource where it lands; undefined for types outside `gcp:`. */
export function gcpState(args: pulumi.runtime.MockResourceArgs, at: Placement): { id: string | undefined; state: State } | undefined {
    if (!args.type.startsWith("gcp:")) {
        return undefined;
    }
    const answer = ANSWERS[args.type];
    if (answer === undefined) {
        throw new Error(
            `the offline harness has no mock for the GCP resource ${args.type} (${args.name}); add a realistic answer in offline/mocks-gcp.ts`,
        );
    }
    const inputs = (args.inputs ?? {}) as State;
    // Pulumi's auto-name unless the program named the resource itself.
    const name = text(inputs, "name", physicalName(args));
    const state: State = { ...inputs, name };
    const id = answer(inputs, name, state, args, at);
    return { id, state };
}

/** Realistic answers for the invokes the GCP platform makes. */
export const GCP_INVOKES: Readonly<Record<string, (inputs: State, at: Placement) => State>> = {
    "gcp:organizations/getClientConfig:getClientConfig": (_inputs, at) => ({
        accessToken: wrapSecret("offline-gcp-access-token"),
        project: at.project,
        region: at.region,
        zone: "",
        defaultLabels: {},
        id: "offline",
    }),
};
