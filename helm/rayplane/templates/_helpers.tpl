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
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "rayplane.metadata" -}}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "rayplane.labels" . | nindent 2 }}
{{- end -}}

{{- define "rayplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rayplane.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "rayplane.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s-ray%s" .Chart.AppVersion .Values.image.rayVersion) -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "rayplane.storageClaim" -}}
{{- .Values.storage.existingClaim | default (printf "%s-storage" (include "rayplane.fullname" .)) -}}
{{- end -}}

{{- define "rayplane.hasStorage" -}}
{{- if or .Values.storage.existingClaim .Values.storage.create.enabled }}true{{ end -}}
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

{{- define "rayplane.ownServiceAccount" -}}
serviceAccountName: {{ include "rayplane.serviceAccountName" . }}
automountServiceAccountToken: false
{{- end -}}

{{/*
A Ray pod template. Argument: dict with root (the chart context), role ("head" or "worker") and group
(the head values or one workerGroups entry).
*/}}
{{- define "rayplane.rayPodTemplate" -}}
{{- $root := .root -}}
{{- $group := .group -}}
{{- $head := eq .role "head" -}}
metadata:
  labels:
    {{- include "rayplane.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/component: ray
spec:
  {{- /* With autoscaling, KubeRay binds the autoscaler's cluster-scoped Role to the head's own account. */}}
  {{- if not (and $head $root.Values.autoscaling.enabled) }}
  {{- include "rayplane.ownServiceAccount" $root | nindent 2 }}
  {{- end }}
  {{- include "rayplane.podCommon" $root | nindent 2 }}
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
  containers:
    - name: {{ ternary "ray-head" "ray-worker" $head }}
      image: {{ $group.image | default (include "rayplane.image" $root) }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      env:
        - name: RAYPLANE_HOME
          value: {{ $root.Values.storage.mountPath | quote }}
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
      ports:
        {{- if $head }}
        - {name: gcs-server, containerPort: 6379, protocol: TCP}
        - {name: dashboard, containerPort: 8265, protocol: TCP}
        - {name: client, containerPort: 10001, protocol: TCP}
        {{- end }}
        - {name: serve, containerPort: 8000, protocol: TCP}
        - {name: metrics, containerPort: 8080, protocol: TCP}
      resources:
        {{- toYaml $group.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      {{- if include "rayplane.hasStorage" $root }}
      volumeMounts:
        - name: rayplane-storage
          mountPath: {{ $root.Values.storage.mountPath }}
  volumes:
    - name: rayplane-storage
      persistentVolumeClaim:
        claimName: {{ include "rayplane.storageClaim" $root }}
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
{{- end -}}

{{/* The RayCluster spec shared by the RayCluster, the RayJob's own cluster and the RayService's clusters. */}}
{{- define "rayplane.clusterSpec" -}}
{{- $enabledGroups := list -}}
{{- range $name, $group := .Values.workerGroups }}{{ if $group.enabled }}{{ $enabledGroups = append $enabledGroups $name }}{{ end }}{{ end -}}
{{- if not $enabledGroups -}}
{{- fail "workerGroups: enable at least one worker group (the head runs no tasks)" -}}
{{- end -}}
rayVersion: {{ .Values.image.rayVersion | quote }}
{{- if .Values.auth.enabled }}
authOptions:
  mode: token
  {{- with .Values.auth.existingSecret }}
  secretName: {{ . }}
  {{- end }}
{{- end }}
enableInTreeAutoscaling: {{ .Values.autoscaling.enabled }}
{{- if .Values.autoscaling.enabled }}
autoscalerOptions:
  version: {{ .Values.autoscaling.version }}
  upscalingMode: {{ .Values.autoscaling.upscalingMode }}
  idleTimeoutSeconds: {{ .Values.autoscaling.idleTimeoutSeconds }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  resources:
    {{- toYaml .Values.autoscaling.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
{{- end }}
{{- if .Values.gcsFaultTolerance.enabled }}
{{- with .Values.gcsFaultTolerance }}
gcsFaultToleranceOptions:
  redisAddress: {{ .redisAddress | quote }}
  redisPassword:
    valueFrom:
      secretKeyRef:
        name: {{ .redisPasswordSecret }}
        key: {{ .redisPasswordKey }}
  {{- with .externalStorageNamespace }}
  externalStorageNamespace: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}
headGroupSpec:
  serviceType: ClusterIP
  rayStartParams:
    {{- toYaml .Values.head.rayStartParams | nindent 4 }}
  template:
    {{- include "rayplane.rayPodTemplate" (dict "root" . "role" "head" "group" .Values.head) | nindent 4 }}
workerGroupSpecs:
  {{- range $name := $enabledGroups }}
  {{- $group := index $.Values.workerGroups $name }}
  {{- include "rayplane.checkGroup" (dict "name" $name "group" $group) }}
  - groupName: {{ $name }}
    replicas: {{ $group.replicas }}
    minReplicas: {{ $group.minReplicas }}
    maxReplicas: {{ $group.maxReplicas }}
    rayStartParams:
      {{- toYaml $group.rayStartParams | nindent 6 }}
    template:
      {{- include "rayplane.rayPodTemplate" (dict "root" $ "role" "worker" "group" $group) | nindent 6 }}
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
  {{- include "rayplane.ownServiceAccount" . | nindent 2 }}
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
