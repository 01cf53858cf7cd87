{{/*
Names, labels and the one Ray cluster spec that the RayCluster, the RayJob's ephemeral cluster and the
RayService's clusters all use: no pod spec is written twice.
*/}}

{{- define "rayplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* At most 40 characters: KubeRay appends "-head-svc", "-serve-svc" and RayService/RayJob suffixes. */}}
{{- define "rayplane.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rayplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rayplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rayplane.labels" -}}
{{ include "rayplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: rayplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "rayplane.metadata" -}}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "rayplane.labels" . | nindent 2 }}
{{- end -}}

{{/* The account of the workers and the job submitter. */}}
{{- define "rayplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rayplane.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The head's account: its own, because with autoscaling KubeRay binds a Role to the head's account (the chart's
Role for its RayCluster, KubeRay's for RayService and RayJob clusters), and no other pod should share it.
*/}}
{{- define "rayplane.headServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- printf "%s-head" (include "rayplane.serviceAccountName" .) -}}
{{- else -}}
{{- include "rayplane.serviceAccountName" . -}}
{{- end -}}
{{- end -}}

{{- define "rayplane.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s-ray%s" .Chart.AppVersion .Values.image.rayVersion) -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "rayplane.storageClaim" -}}
{{- .Values.storage.existingClaim | default (printf "%s-storage" (include "rayplane.fullname" .)) -}}
{{- end -}}

{{- define "rayplane.objectStore" -}}
{{- if eq .Values.storage.mode "objectStore" }}true{{ end -}}
{{- end -}}

{{- define "rayplane.volumeStorage" -}}
{{- if and (not (include "rayplane.objectStore" .)) (or .Values.storage.existingClaim .Values.storage.create.enabled) }}true{{ end -}}
{{- end -}}

{{- define "rayplane.hasStorage" -}}
{{- if or (include "rayplane.objectStore" .) (include "rayplane.volumeStorage" .) }}true{{ end -}}
{{- end -}}

{{/*
Where rayplane keeps runs, checkpoints and model versions, as the env vars rayplane reads: RAYPLANE_HOME (a
path or a URI), RAYPLANE_STORAGE_SHARED (a path every pod shares), AWS_ENDPOINT_URL and the AWS_* credentials.
*/}}
{{- define "rayplane.storageEnv" -}}
{{- if include "rayplane.objectStore" . }}
{{- with .Values.storage.objectStore }}
- name: RAYPLANE_HOME
  value: {{ .uri | quote }}
{{- with .endpoint }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .credentials }}
{{- if .secretName }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ .secretName }}, key: {{ .accessKeyIdKey }}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ .secretName }}, key: {{ .secretAccessKeyKey }}}
{{- with .sessionTokenKey }}
- name: AWS_SESSION_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $.Values.storage.objectStore.credentials.secretName }}, key: {{ . }}}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- else }}
- name: RAYPLANE_HOME
  value: {{ .Values.storage.mountPath | quote }}
{{- if include "rayplane.volumeStorage" . }}
# Every pod mounts the same claim: rayplane may keep a multi-node cluster's runs on this path.
- name: RAYPLANE_STORAGE_SHARED
  value: "true"
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level settings every pod of the release shares (Ray pods and the job submitter). */}}
{{- define "rayplane.podCommon" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A Ray pod template. Argument: dict with root (the chart context), role ("head" or "worker") and group
(the head values or one workerGroups entry).
*/}}
{{- define "rayplane.rayPodTemplate" -}}
{{- $root := .root -}}
{{- $group := .group -}}
{{- $head := eq .role "head" -}}
{{- $autoscaler := and $head $root.Values.autoscaling.enabled -}}
{{- /* The chart's own labels win: the NetworkPolicy, the PodMonitor and the PDB select pods by them. */}}
{{- $labels := merge (fromYaml (include "rayplane.selectorLabels" $root)) (dict "app.kubernetes.io/component" "ray") (deepCopy ($group.podLabels | default dict)) -}}
metadata:
  labels:
    {{- toYaml $labels | nindent 4 }}
  {{- with $group.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ ternary (include "rayplane.headServiceAccountName" $root) (include "rayplane.serviceAccountName" $root) $head }}
  # Ray containers run user code (job drivers on the head, tasks everywhere): no Kubernetes API token in them.
  automountServiceAccountToken: false
  {{- include "rayplane.podCommon" $root | nindent 2 }}
  {{- with $group.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $group.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ ternary "ray-head" "ray-worker" $head }}
      image: {{ $group.image | default (include "rayplane.image" $root) }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      env:
        {{- include "rayplane.storageEnv" $root | trim | nindent 8 }}
        {{- if $head }}
        {{- with $root.Values.monitoring }}
        {{- if .grafanaHost }}
        - name: RAY_GRAFANA_HOST
          value: {{ .grafanaHost | quote }}
        - name: RAY_GRAFANA_IFRAME_HOST
          value: {{ .grafanaIframeHost | default .grafanaHost | quote }}
        {{- end }}
        {{- if .prometheusHost }}
        - name: RAY_PROMETHEUS_HOST
          value: {{ .prometheusHost | quote }}
        {{- end }}
        {{- end }}
        {{- end }}
        {{- if $root.Values.serve.haproxy }}
        - name: RAY_SERVE_ENABLE_HA_PROXY
          value: "1"
        {{- end }}
        {{- with $root.Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $group.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $group.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        {{- if $head }}
        - {name: gcs-server, containerPort: 6379, protocol: TCP}
        - {name: dashboard, containerPort: 8265, protocol: TCP}
        - {name: client, containerPort: 10001, protocol: TCP}
        # The autoscaler's and the dashboard's own Prometheus metrics.
        - {name: as-metrics, containerPort: 44217, protocol: TCP}
        - {name: dash-metrics, containerPort: 44227, protocol: TCP}
        {{- end }}
        - {name: serve, containerPort: 8000, protocol: TCP}
        - {name: metrics, containerPort: 8080, protocol: TCP}
      resources:
        {{- toYaml $group.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - {name: ray-logs, mountPath: /tmp/ray}
        - {name: shared-mem, mountPath: /dev/shm}
        {{- if include "rayplane.volumeStorage" $root }}
        - {name: rayplane-storage, mountPath: {{ $root.Values.storage.mountPath }}}
        {{- end }}
        {{- with $group.volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    # Named as KubeRay names them, so it mounts these instead of adding its own (and shares ray-logs with
    # the autoscaler): /tmp/ray holds logs and spilled objects, bounded so a run cannot fill the node's disk.
    - name: ray-logs
      emptyDir:
        {{- with $root.Values.rayVolumes.logs.sizeLimit }}
        sizeLimit: {{ . }}
        {{- end }}
    # Ray's object store; memory-backed, so it counts against the container's memory limit.
    - name: shared-mem
      emptyDir:
        medium: Memory
        {{- with $root.Values.rayVolumes.sharedMemory.sizeLimit | default (dig "limits" "memory" "" $group.resources) }}
        sizeLimit: {{ . }}
        {{- end }}
    {{- if include "rayplane.volumeStorage" $root }}
    - name: rayplane-storage
      persistentVolumeClaim:
        claimName: {{ include "rayplane.storageClaim" $root }}
    {{- end }}
    {{- if $autoscaler }}
    # The autoscaler's API token, mounted in the autoscaler container only (autoscalerOptions.volumeMounts).
    - name: autoscaler-api-access
      projected:
        sources:
          - serviceAccountToken: {path: token, expirationSeconds: 3607}
          - configMap:
              name: kube-root-ca.crt
              items: [{key: ca.crt, path: ca.crt}]
          - downwardAPI:
              items:
                - path: namespace
                  fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}
    {{- end }}
    {{- with $group.volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{- define "rayplane.checkGroup" -}}
{{- $name := .name -}}
{{- $g := .group -}}
{{- if gt (int $g.minReplicas) (int $g.maxReplicas) -}}
{{- fail (printf "workerGroups.%s: minReplicas (%d) is greater than maxReplicas (%d)" $name (int $g.minReplicas) (int $g.maxReplicas)) -}}
{{- end -}}
{{- if or (lt (int $g.replicas) (int $g.minReplicas)) (gt (int $g.replicas) (int $g.maxReplicas)) -}}
{{- fail (printf "workerGroups.%s: replicas (%d) must be between minReplicas (%d) and maxReplicas (%d)" $name (int $g.replicas) (int $g.minReplicas) (int $g.maxReplicas)) -}}
{{- end -}}
{{- include "rayplane.checkResources" (dict "where" (printf "workerGroups.%s" $name) "resources" $g.resources) -}}
{{- end -}}

{{/*
Resources the API server refuses when KubeRay creates the pods (Kubernetes' ValidateResourceRequirements):
a request above its limit, and a GPU (or any resource but cpu, memory and ephemeral-storage) requested
without an equal limit; KubeRay also gives Ray only the GPUs in the limits. Argument: dict with where and
resources.
*/}}
{{- define "rayplane.checkResources" -}}
{{- $where := .where -}}
{{- $limits := .resources.limits | default dict -}}
{{- range $name, $request := .resources.requests | default dict -}}
{{- $limit := index $limits $name -}}
{{- $overcommittable := or (has $name (list "cpu" "memory" "ephemeral-storage")) (hasPrefix "hugepages-" $name) -}}
{{- if and (not $overcommittable) (not (hasKey $limits $name)) -}}
{{- fail (printf "%s.resources.limits.%s: must be set to the request (%v): %s cannot be overcommitted" $where $name $request $name) -}}
{{- else if and (not $overcommittable) (ne (include "rayplane.quantity" $limit) (include "rayplane.quantity" $request)) -}}
{{- fail (printf "%s.resources.requests.%s: %v must equal the limit (%v)" $where $name $request $limit) -}}
{{- else if and (hasKey $limits $name) (gt (float64 (include "rayplane.quantity" $request)) (float64 (include "rayplane.quantity" $limit))) -}}
{{- fail (printf "%s.resources.requests.%s: %v must be less than or equal to the %s limit (%v)" $where $name $request $name $limit) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes quantity as a plain number (values.schema.json has checked its form). */}}
{{- define "rayplane.quantity" -}}
{{- $text := toString . -}}
{{- $suffix := regexFind "[a-zA-Z]+$" $text -}}
{{- $factors := dict "" 1.0 "n" 1e-9 "u" 1e-6 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- mulf (float64 (trimSuffix $suffix $text)) (index $factors $suffix) -}}
{{- end -}}

{{/*
The RayCluster spec shared by the RayCluster, the RayJob's own cluster and the RayService's clusters.
Argument: dict with root (the chart context) and release (true for the release's long-lived RayCluster).
*/}}
{{- define "rayplane.clusterSpec" -}}
{{- $root := .root -}}
{{- $enabledGroups := list -}}
{{- range $name, $group := $root.Values.workerGroups }}{{ if $group.enabled }}{{ $enabledGroups = append $enabledGroups $name }}{{ end }}{{ end -}}
{{- if not $enabledGroups -}}
{{- fail "workerGroups: enable at least one worker group (the head runs no tasks)" -}}
{{- end -}}
{{- include "rayplane.checkResources" (dict "where" "head" "resources" $root.Values.head.resources) -}}
{{- with $root.Values -}}
rayVersion: {{ .image.rayVersion | quote }}
{{- if .auth.enabled }}
{{- /* KubeRay's ValidateRayClusterSpec: token authentication needs Ray 2.52. */}}
{{- if semverCompare "<2.52.0" .image.rayVersion }}
{{- fail (printf "image.rayVersion: %s is below 2.52.0, the oldest Ray KubeRay accepts with auth.enabled (token authentication)" .image.rayVersion) }}
{{- end }}
authOptions:
  mode: token
  {{- with .auth.existingSecret }}
  secretName: {{ . }}
  {{- end }}
{{- end }}
enableInTreeAutoscaling: {{ .autoscaling.enabled }}
{{- if .autoscaling.enabled }}
autoscalerOptions:
  version: {{ .autoscaling.version }}
  upscalingMode: {{ .autoscaling.upscalingMode }}
  idleTimeoutSeconds: {{ .autoscaling.idleTimeoutSeconds }}
  imagePullPolicy: {{ .image.pullPolicy }}
  resources:
    {{- toYaml .autoscaling.resources | nindent 4 }}
  securityContext:
    {{- toYaml .containerSecurityContext | nindent 4 }}
  # The one container of the head pod that gets the account's API token.
  volumeMounts:
    - name: autoscaler-api-access
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
{{- end }}
{{- if .gcsFaultTolerance.enabled }}
{{- with .gcsFaultTolerance }}
gcsFaultToleranceOptions:
  redisAddress: {{ .redisAddress | quote }}
  {{- if .redisUsernameSecret }}
  redisUsername:
    valueFrom:
      secretKeyRef:
        name: {{ .redisUsernameSecret }}
        key: {{ .redisUsernameKey }}
  {{- end }}
  redisPassword:
    valueFrom:
      secretKeyRef:
        name: {{ .redisPasswordSecret }}
        key: {{ .redisPasswordKey }}
  {{- /*
  KubeRay deletes a cluster's namespace in Redis when the cluster is deleted. Only the release's own
  RayCluster may name one: a RayService's two clusters during an upgrade, and every RayJob cluster, use
  their UIDs (KubeRay's default), so deleting one never wipes another's state.
  */}}
  {{- if and $.release .externalStorageNamespace }}
  externalStorageNamespace: {{ .externalStorageNamespace | quote }}
  {{- end }}
{{- end }}
{{- end }}
headGroupSpec:
  serviceType: ClusterIP
  rayStartParams:
    {{- toYaml .head.rayStartParams | nindent 4 }}
  template:
    {{- include "rayplane.rayPodTemplate" (dict "root" $root "role" "head" "group" .head) | nindent 4 }}
{{- end }}
workerGroupSpecs:
  {{- range $name := $enabledGroups }}
  {{- $group := index $root.Values.workerGroups $name }}
  {{- include "rayplane.checkGroup" (dict "name" $name "group" $group) }}
  - groupName: {{ $name }}
    replicas: {{ $group.replicas }}
    minReplicas: {{ $group.minReplicas }}
    maxReplicas: {{ $group.maxReplicas }}
    rayStartParams:
      {{- toYaml $group.rayStartParams | nindent 6 }}
    template:
      {{- include "rayplane.rayPodTemplate" (dict "root" $root "role" "worker" "group" $group) | nindent 6 }}
  {{- end }}
{{- end -}}

{{/* Annotations of a KubeRay object that KubeRay copies onto the RayClusters it creates for it. */}}
{{- define "rayplane.clusterAnnotations" -}}
{{- if .Values.gcsFaultTolerance.enabled }}
{{- with .Values.gcsFaultTolerance.deletionTimeoutSeconds }}
annotations:
  # How long KubeRay waits for the Redis cleanup of a deleted cluster before it removes the finalizer anyway.
  ray.io/gcs-ft-deletion-timeout: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The pod that submits a RayJob and follows its logs: the release's image, account and security. */}}
{{- define "rayplane.submitterPodTemplate" -}}
metadata:
  labels:
    {{- include "rayplane.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: submitter
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "rayplane.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- include "rayplane.podCommon" . | nindent 2 }}
  containers:
    - name: ray-job-submitter
      image: {{ include "rayplane.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      resources:
        {{- toYaml .Values.rayJob.submitterResources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.containerSecurityContext | nindent 8 }}
{{- end -}}
