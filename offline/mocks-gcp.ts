/**
 * Mock answers for GCP: the ids, self links, emails, endpoints and CA the providers report, and the invokes the GCP
 * platform makes. `gcpState` returns undefined for types outside `gcp:`; a `gcp:` type it has no answer for fails
 * loudly, so a new resource cannot silently run on a made-up state: add a realistic answer here.
 */
import * as pulumi from "@pulumi/pulumi";
import { physicalName, region, State, suffix, wrapSecret } from "./mock-values";

const COMPUTE = "https://www.googleapis.com/compute/v1";

/** The project a resource lands in: its own `project` input, else the provider's (the stack's gcpProject). */
function project(inputs: State): string {
    const own = inputs["project"];
    if (typeof own === "string" && own !== "") {
        return own;
    }
    const configured = pulumi.runtime.allConfig()["herd:gcpProject"];
    return configured !== undefined && configured !== "" ? configured : "offline-project";
}

function text(inputs: State, key: string, fallback: string): string {
    const v = inputs[key];
    return typeof v === "string" && v !== "" ? v : fallback;
}

/** Extra state per type, from the inputs and the resource's (auto-)name. Returns the provider id. */
type Answer = (inputs: State, name: string, state: State, args: pulumi.runtime.MockResourceArgs) => string;

const ETAG = (args: pulumi.runtime.MockResourceArgs) => `BwY${suffix(`etag:${args.name}`, 10)}=`;

const ANSWERS: Readonly<Record<string, Answer>> = {
    "gcp:compute/network:Network": (inputs, name, state) => {
        const id = `projects/${project(inputs)}/global/networks/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        state["numericId"] = String(parseInt(suffix(`net:${name}`, 12), 16));
        return id;
    },
    "gcp:compute/subnetwork:Subnetwork": (inputs, name, state) => {
        const id = `projects/${project(inputs)}/regions/${text(inputs, "region", region())}/subnetworks/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        const primary = text(inputs, "ipCidrRange", "10.10.0.0/20");
        state["gatewayAddress"] = primary.replace(/\.\d+\/\d+$/, ".1");
        return id;
    },
    "gcp:compute/router:Router": (inputs, name, state) => {
        const id = `projects/${project(inputs)}/regions/${text(inputs, "region", region())}/routers/${name}`;
        state["selfLink"] = `${COMPUTE}/${id}`;
        return id;
    },
    "gcp:compute/routerNat:RouterNat": (inputs, name) => `${project(inputs)}/${text(inputs, "region", region())}/${String(inputs["router"])}/${name}`,
    "gcp:container/cluster:Cluster": (inputs, name, state, args) => {
        const location = text(inputs, "location", region());
        const id = `projects/${project(inputs)}/locations/${location}/clusters/${name}`;
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
    "gcp:container/nodePool:NodePool": (inputs, name, state) => {
        const cluster = text(inputs, "cluster", "cluster");
        state["instanceGroupUrls"] = ["a", "b", "c"].map(
            (z) => `${COMPUTE}/projects/${project(inputs)}/zones/${region()}-${z}/instanceGroupManagers/gke-${name}-grp`,
        );
        return cluster.startsWith("projects/") ? `${cluster}/nodePools/${name}` : `${project(inputs)}/${region()}/${cluster}/${name}`;
    },
    "gcp:serviceaccount/account:Account": (inputs, _name, state, args) => {
        const p = project(inputs);
        const email = `${text(inputs, "accountId", args.name)}@${p}.iam.gserviceaccount.com`;
        const id = `projects/${p}/serviceAccounts/${email}`;
        state["name"] = id;
        state["email"] = email;
        state["member"] = `serviceAccount:${email}`;
        state["project"] = p;
        state["uniqueId"] = String(BigInt(`0x${suffix(`sa:${email}`, 15)}`));
        return id;
    },
    "gcp:artifactregistry/repository:Repository": (inputs, _name, state, args) => {
        const p = project(inputs);
        const location = text(inputs, "location", region());
        const repositoryId = text(inputs, "repositoryId", args.name);
        const id = `projects/${p}/locations/${location}/repositories/${repositoryId}`;
        state["name"] = repositoryId;
        state["project"] = p;
        state["registryUri"] = `${location}-docker.pkg.dev/${p}/${repositoryId}`;
        return id;
    },
    "gcp:storage/bucket:Bucket": (inputs, name, state) => {
        state["url"] = `gs://${name}`;
        state["selfLink"] = `https://www.googleapis.com/storage/v1/b/${name}`;
        state["project"] = project(inputs);
        return name;
    },
    "gcp:projects/iAMMember:IAMMember": (inputs, _name, state, args) => {
        state["etag"] = ETAG(args);
        return `${project(inputs)}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": (inputs, _name, state, args) => {
        state["etag"] = ETAG(args);
        return `projects/${project(inputs)}/locations/${String(inputs["location"])}/repositories/${String(inputs["repository"])}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
    "gcp:storage/bucketIAMMember:BucketIAMMember": (inputs, _name, state, args) => {
        state["etag"] = ETAG(args);
        return `b/${String(inputs["bucket"])}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
    "gcp:serviceaccount/iAMMember:IAMMember": (inputs, _name, state, args) => {
        state["etag"] = ETAG(args);
        return `${String(inputs["serviceAccountId"])}/${String(inputs["role"])}/${String(inputs["member"])}`;
    },
};

export function gcpState(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } | undefined {
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
    const id = answer(inputs, name, state, args);
    return { id, state };
}

/** Realistic answers for the invokes the GCP platform makes. */
export const GCP_INVOKES: Readonly<Record<string, (inputs: State) => State>> = {
    "gcp:organizations/getClientConfig:getClientConfig": () => ({
        accessToken: wrapSecret("offline-gcp-access-token"),
        project: pulumi.runtime.allConfig()["herd:gcpProject"] ?? "offline-project",
        region: region(),
        zone: "",
        defaultLabels: {},
        id: "offline",
    }),
};
