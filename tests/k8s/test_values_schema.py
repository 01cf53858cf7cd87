"""values.schema.json and the chart's own checks reject bad values, naming the value at fault."""

from __future__ import annotations

import json

import pytest
from k8s.k8s_checks import CHART, helm_error

SERVE = str(CHART / "ci" / "rayservice-values.yaml")

BAD = [
    # (helm arguments, what the error must say)
    (["--set", "workerGroups.cpu.replcas=1"], "additional properties 'replcas' not allowed"),
    (["--set", "autoscalling.enabled=false"], "additional properties 'autoscalling' not allowed"),
    (["--set-string", "workerGroups.cpu.maxReplicas=4"],
     "at '/workerGroups/cpu/maxReplicas': got string, want integer"),
    (["--set", "workerGroups.cpu.minReplicas=-1"], "at '/workerGroups/cpu/minReplicas': minimum: got -1, want 0"),
    (["--set", "workerGroups.cpu.replicas=-2"], "at '/workerGroups/cpu/replicas': minimum: got -2, want 0"),
    (["--set", "autoscaling.upscalingMode=Fast"], "at '/autoscaling/upscalingMode'"),
    (["--set", "image.rayVersion=latest"], "at '/image/rayVersion'"),
    (["--set", "workerGroups.GPU_big.enabled=true"], "invalid propertyName 'GPU_big'"),
    (["--set", "rayJob.enabled=true,rayJob.command=serve"], "at '/rayJob/command'"),
    (["--set", "rayJob.enabled=true,rayJob.workingDir=./workloads"], "at '/rayJob/workingDir'"),
    (["--set", "rayJob.enabled=true,rayJob.args[0]=it's"], "at '/rayJob/args/0'"),
    (["--set", "rayJob.enabled=true,rayJob.shutdownAfterJobFinishes=false"], "at '/rayJob/shutdownAfterJobFinishes'"),
    (["--set", "rayJob.runtimeEnv.working_dir=s3://b/w.zip"], "additional properties 'working_dir' not allowed"),
    (["--set", "rayService.enabled=true"], "at '/rayService/serveConfig'"),
    (["--set", "rayService.serveConfig.aplications[0].name=x"], "additional properties 'aplications' not allowed"),
    (["--set", "rayService.upgradeStrategy=BlueGreen"], "at '/rayService/upgradeStrategy'"),
    (["--set", "ingress.enabled=true"], "at '/ingress/tlsSecretName'"),
    (["--set", "gcsFaultTolerance.enabled=true"], "at '/gcsFaultTolerance/redisAddress'"),
    (["--set", "storage.create.accessModes[0]=ReadWriteAll"], "at '/storage/create/accessModes/0'"),
    (["--set", "head.rayStartParams.num-cpus=0"], "at '/head/rayStartParams/num-cpus': got number, want string"),
    (["--set", "fullnameOverride=this-name-is-far-too-long-for-kuberay-suffixes"], "at '/fullnameOverride'"),
    (["--set", "podSecurityContext.runAsNonroot=true"], "additional properties 'runAsNonroot' not allowed"),
    # Cross-field rules the chart checks while rendering.
    (["--set", "workerGroups.cpu.minReplicas=5"], "workerGroups.cpu: minReplicas (5) is greater than maxReplicas (4)"),
    (["--set", "workerGroups.cpu.replicas=9"],
     "workerGroups.cpu: replicas (9) must be between minReplicas (0) and maxReplicas (4)"),
    (["--set", "workerGroups.cpu.enabled=false"], "workerGroups: enable at least one worker group"),
    (["--set", "rayJob.enabled=true,rayJob.cluster=release,cluster.enabled=false"], "there is no RayCluster to run on"),
    (["--set", "rayJob.enabled=true,storage.create.enabled=false"],
     "rayJob: runs, checkpoints and models must be on shared storage"),
    (["--set", "head.volumeMounts[0].name=logs,head.volumeMounts[0].mountPath=/tmp/ray"],
     "at '/head/volumeMounts/0/mountPath': 'not' failed"),
    (["--set", "workerGroups.cpu.volumes[0].name=shared-mem,workerGroups.cpu.volumes[0].emptyDir.medium=Memory"],
     "at '/workerGroups/cpu/volumes/0/name': 'not' failed"),
    (["--set", "head.priorityClassName=High_Prio"], "at '/head/priorityClassName'"),
    (["--set", "workerGroups.cpu.topologySpreadConstraints[0].maxSkew=1"],
     "at '/workerGroups/cpu/topologySpreadConstraints/0': missing properties 'topologyKey', 'whenUnsatisfiable'"),
    (["--set", "workerDisruptionBudget.enabled=true,workerDisruptionBudget.maxUnavailable=0"],
     "at '/workerDisruptionBudget/maxUnavailable'"),
    (["--set", "rayVolumes.logs.sizeLimit=lots"], "at '/rayVolumes/logs/sizeLimit'"),
    (["--set", "gcsFaultTolerance.redisUsernameSecret=redis,gcsFaultTolerance.redisUsernameKey="],
     "at '/gcsFaultTolerance/redisUsernameKey': minLength: got 0, want 1"),
    (["--set", "gcsFaultTolerance.deletionTimeoutSeconds=-5"], "at '/gcsFaultTolerance/deletionTimeoutSeconds'"),
    (["--set", "monitoring.prometheusRule.errorRateThreshold=5"], "at '/monitoring/prometheusRule/errorRateThreshold'"),
    (["--set", "storage.mode=bucket"], "at '/storage/mode'"),
    # KubeRay's own rules (rayplane.k8s.operator_rules cites them), refused at install time.
    (["--set", "rayJob.enabled=true,rayJob.cluster=release,rayJob.backoffLimit=2"],
     "at '/rayJob/backoffLimit': maximum: got 2, want 0"),
    (["--set", "image.rayVersion=2.40.0"],
     "image.rayVersion: 2.40.0 is below 2.52.0, the oldest Ray KubeRay accepts with auth.enabled"),
    (["--set", "workerGroups.gpu.enabled=true", "--set", "workerGroups.gpu.resources.limits.nvidia\\.com/gpu=null"],
     "workerGroups.gpu.resources.limits.nvidia.com/gpu: must be set to the request (1): nvidia.com/gpu cannot be "
     "overcommitted"),
    (["--set", "workerGroups.gpu.enabled=true", "--set", "workerGroups.gpu.resources.limits.nvidia\\.com/gpu=2"],
     "workerGroups.gpu.resources.requests.nvidia.com/gpu: 1 must equal the limit (2)"),
    (["--set", "workerGroups.cpu.resources.limits.memory=4Gi"],
     "workerGroups.cpu.resources.requests.memory: 8Gi must be less than or equal to the memory limit (4Gi)"),
    (["--set", "head.resources.limits.cpu=500m"],
     "head.resources.requests.cpu: 1 must be less than or equal to the cpu limit (500m)"),
    (["--values", SERVE, "--set", "rayService.upgradeStrategy=NewClusterWithIncrementalUpgrade", "--set-json",
      'rayService.clusterUpgradeOptions={"gatewayClassName": "istio", "intervalSeconds": 9, "stepSizePercent": 50, '
      '"maxSurgePercent": 20}'],
     "rayService.clusterUpgradeOptions.stepSizePercent: 50 must be less than or equal to maxSurgePercent (20)"),
    (["--values", SERVE, "--set", "rayService.clusterUpgradeOptions.gatewayClassName=istio"],
     "rayService.clusterUpgradeOptions: apply to upgradeStrategy NewClusterWithIncrementalUpgrade only, not "
     "NewCluster"),
]


@pytest.mark.parametrize("args,message", BAD,
                         ids=[" ".join(a[1:]).replace(SERVE, "rayservice-values") for a, _ in BAD])
def test_bad_values_are_rejected(args, message):
    assert message in helm_error(*args)


def test_schema_rejects_unknown_keys_everywhere():
    """Every object in the schema closes its keys (or types its map values): no value can hide a typo."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects = []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(schema, "")
    assert open_objects == []
