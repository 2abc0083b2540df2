import { describe, expect, it } from "vitest";
import { admissionPlacements, kubernetesPlacements } from "./kubernetes.js";
import { defaultResidencySettings as settings } from "./settings.js";

const REGION = "topology.kubernetes.io/region";

function deployment(spec: Record<string, unknown>, labels: Record<string, string> = { "data-classification": "personal" }): Record<string, unknown> {
  return {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "checkout", namespace: "shop" },
    spec: { template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "shop/checkout:1.4.2" }], ...spec } } },
  };
}

describe("Kubernetes placements", () => {
  it("reads the region a nodeSelector pins, with the pod template's classification", () => {
    const result = kubernetesPlacements(deployment({ nodeSelector: { [REGION]: "us-east-1", "kubernetes.io/os": "linux" } }), { settings, prefix: "" });
    expect(result.placements).toEqual([{
      kind: "workload", resource: "Deployment/shop/checkout", field: `spec.template.spec.nodeSelector["${REGION}"]`, region: "us-east-1",
      data: { classification: [{ value: "personal", field: 'spec.template.metadata.labels["data-classification"]' }], treatment: [] },
    }]);
    expect(result.unconstrained).toEqual([]);
  });

  it("reads every region of required nodeAffinity terms, and nothing from preferred ones", () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
          { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }, { key: REGION, operator: "In", values: ["eu-central-1", "eu-west-1"] }] },
          { matchExpressions: [{ key: "failure-domain.beta.kubernetes.io/region", operator: "In", values: ["eu-north-1"] }] },
        ] },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: REGION, operator: "In", values: ["us-west-2"] }] } }],
      },
    };
    const result = kubernetesPlacements(deployment({ affinity }), { settings, prefix: "request.object" });
    expect(result.placements.map((p) => [p.region, p.field])).toEqual([
      ["eu-central-1", "request.object.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values[0]"],
      ["eu-west-1", "request.object.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values[1]"],
      ["eu-north-1", "request.object.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions[0].values[0]"],
    ]);
  });

  it("treats a term without a region constraint, NotIn and preferred-only affinity as unconstrained", () => {
    const oneOpenTerm = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: REGION, operator: "In", values: ["eu-west-1"] }] },
      { matchExpressions: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["m7g.large"] }] },
    ] } } };
    const notIn = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: REGION, operator: "NotIn", values: ["us-east-1"] }] }] } } };
    for (const affinity of [oneOpenTerm, notIn]) {
      const result = kubernetesPlacements(deployment({ affinity }), { settings, prefix: "" });
      expect(result.placements).toEqual([]);
      expect(result.unconstrained).toEqual([expect.objectContaining({ resource: "Deployment/shop/checkout", field: "spec.template.spec.nodeSelector" })]);
    }
  });

  it("finds the pod template of a CronJob and classifies by the namespace when the workload says nothing", () => {
    const cronJob = {
      apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "export", namespace: "billing" },
      spec: { schedule: "0 3 * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", nodeSelector: { [REGION]: "westeurope" }, containers: [{ name: "x", image: "x" }] } } } } },
    };
    const result = kubernetesPlacements(cronJob, { settings, prefix: "", namespaceAttrs: { labels: { "vigil.dev/data-class": "financial" } } });
    expect(result.placements[0]).toMatchObject({
      field: `spec.jobTemplate.spec.template.spec.nodeSelector["${REGION}"]`, region: "westeurope",
      data: { classification: [{ value: "financial", field: 'context.entities.namespace.attrs.labels["vigil.dev/data-class"]' }] },
    });
    const byAttr = kubernetesPlacements(cronJob, { settings, prefix: "", namespaceAttrs: { classification: "health" } });
    expect(byAttr.placements[0]?.data.classification[0]).toEqual({ value: "health", field: 'context.entities.namespace.attrs["classification"]' });
  });

  it("reads PersistentVolume and StorageClass topology, and the region of cloud resources managed from Kubernetes", () => {
    const pv = {
      apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv-1", labels: { [REGION]: "eu-west-1", "data-classification": "personal" } },
      spec: { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: REGION, operator: "In", values: ["eu-west-1"] }] }] } } },
    };
    expect(kubernetesPlacements(pv, { settings, prefix: "" }).placements.map((p) => [p.kind, p.region, p.field])).toEqual([["volume", "eu-west-1", `metadata.labels["${REGION}"]`]]);
    const storageClass = { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "regional" }, provisioner: "ebs.csi.aws.com", allowedTopologies: [{ matchLabelExpressions: [{ key: REGION, values: ["us-east-1"] }] }] };
    expect(kubernetesPlacements(storageClass, { settings, prefix: "" }).placements.map((p) => p.field)).toEqual(["allowedTopologies[0].matchLabelExpressions[0].values[0]"]);
    const crossplane = { apiVersion: "s3.aws.upbound.io/v1beta1", kind: "Bucket", metadata: { name: "exports", labels: { "data-classification": "pii" } }, spec: { forProvider: { region: "us-east-2" } } };
    expect(kubernetesPlacements(crossplane, { settings, prefix: "" }).placements[0]).toMatchObject({ kind: "storage", field: "spec.forProvider.region", region: "us-east-2", provider: "aws" });
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: { [REGION]: "us-east-1" } } };
    expect(kubernetesPlacements(node, { settings, prefix: "" }).placements).toEqual([]);
  });

  it("a volume or pod pinned only by zone (CSI-provisioned PVs carry no region) is placed in the zone's region", () => {
    // What the AWS EBS CSI driver writes for a dynamically provisioned volume: zone affinity, no region label.
    const ebs = {
      apiVersion: "v1", kind: "PersistentVolume",
      metadata: { name: "pvc-8d3f0d6e-2a8a-4f6e-9b4e-0c5a1f0b9a11", labels: { "data-classification": "personal" }, annotations: { "pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com" } },
      spec: {
        accessModes: ["ReadWriteOnce"], capacity: { storage: "20Gi" }, storageClassName: "gp3", persistentVolumeReclaimPolicy: "Delete",
        csi: { driver: "ebs.csi.aws.com", fsType: "ext4", volumeHandle: "vol-0a1b2c3d4e5f67890" },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "topology.ebs.csi.aws.com/zone", operator: "In", values: ["us-east-1a"] }] }] } },
      },
    };
    expect(kubernetesPlacements(ebs, { settings, prefix: "" }).placements.map((p) => [p.kind, p.region, p.field])).toEqual([
      ["volume", "us-east-1a", "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]"],
    ]);
    const zonal = kubernetesPlacements(deployment({ nodeSelector: { "topology.kubernetes.io/zone": "europe-west3-b" } }), { settings, prefix: "" });
    expect(zonal.unconstrained).toEqual([]);
    expect(zonal.placements.map((p) => [p.region, p.field])).toEqual([["europe-west3-b", 'spec.template.spec.nodeSelector["topology.kubernetes.io/zone"]']]);
    // A term with both a region and a zone expression is pinned by the region.
    const both = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [
      { key: REGION, operator: "In", values: ["eu-west-1"] }, { key: "topology.kubernetes.io/zone", operator: "In", values: ["eu-west-1a", "eu-west-1b"] },
    ] }] } } };
    expect(kubernetesPlacements(deployment({ affinity: both }), { settings, prefix: "" }).placements.map((p) => p.region)).toEqual(["eu-west-1"]);
  });

  it("reads the object of CREATE and UPDATE reviews and nothing for DELETE", () => {
    const review = (operation: string): Record<string, unknown> => ({
      apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
      request: { uid: "u", operation, namespace: "shop", object: { ...deployment({ nodeSelector: { [REGION]: "eu-west-2" } }), metadata: { name: "checkout" } } },
    });
    expect(admissionPlacements(review("CREATE"), { settings })?.placements[0]).toMatchObject({ resource: "Deployment/shop/checkout", field: `request.object.spec.template.spec.nodeSelector["${REGION}"]` });
    expect(admissionPlacements(review("DELETE"), { settings })).toBeUndefined();
    expect(admissionPlacements({ request: { operation: "CREATE" } }, { settings })?.errors[0]?.field).toBe("request.object");
  });
});
