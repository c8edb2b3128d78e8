{{/*
Names, labels and the pieces every workload shares. Nothing else in the chart spells a
resource name, a label set, a Secret name or the restricted security context.
*/}}

{{- define "hume-fleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped prefix of every resource name (63 characters at most). */}}
{{- define "hume-fleet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<suffix>", the prefix shortened so the whole stays within 63 characters.
Call with (list $ "suffix"). */}}
{{- define "hume-fleet.componentName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $prefix := include "hume-fleet.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix $suffix }}
{{- end }}

{{- define "hume-fleet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. Call with (list $ "component"). */}}
{{- define "hume-fleet.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "hume-fleet.chart" $root }}
{{ include "hume-fleet.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: hume-fleet
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels (immutable on Deployments). Call with (list $ "component"). */}}
{{- define "hume-fleet.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "hume-fleet.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "hume-fleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hume-fleet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hume-fleet.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- secrets */}}

{{/* Secret holding the Hume API key: the existing one, else the chart's (made only when
hume.apiKey is set; otherwise the operator creates it under this name, see NOTES). */}}
{{- define "hume-fleet.humeSecretName" -}}
{{- default (include "hume-fleet.componentName" (list . "hume")) .Values.hume.existingSecret }}
{{- end }}

{{- define "hume-fleet.redisAuth" -}}
{{- if or .Values.redis.password .Values.redis.existingSecret }}true{{ end }}
{{- end }}

{{- define "hume-fleet.redisSecretName" -}}
{{- default (include "hume-fleet.componentName" (list . "redis")) .Values.redis.existingSecret }}
{{- end }}

{{- define "hume-fleet.objectStoreSecret" -}}
{{- if .Values.objectStore.existingSecret }}
{{- .Values.objectStore.existingSecret }}
{{- else if or .Values.objectStore.accessKeyId .Values.objectStore.secretAccessKey }}
{{- include "hume-fleet.componentName" (list . "object-store") }}
{{- end }}
{{- end }}

{{- define "hume-fleet.emulatorSecretName" -}}
{{- default (include "hume-fleet.componentName" (list . "emulator")) .Values.emulator.existingSecret }}
{{- end }}

{{/* ---------------------------------------------------------------- settings */}}

{{/* Broker and result store URL. The password is never written here: the pod spec
expands $(REDIS_PASSWORD), set from the Secret just before REDIS_URL (see redisEnv). */}}
{{- define "hume-fleet.redisUrl" -}}
{{- $r := .Values.redis }}
{{- $auth := "" }}
{{- if include "hume-fleet.redisAuth" . }}
{{- $auth = printf "%s:$(REDIS_PASSWORD)@" $r.username }}
{{- end }}
{{- $scheme := ternary "rediss" "redis" $r.tls.enabled }}
{{- $query := "" }}
{{- if $r.tls.enabled }}
{{- /* Celery refuses a rediss:// URL without ssl_cert_reqs. */}}
{{- $query = printf "?ssl_cert_reqs=%s" (ternary "none" "required" $r.tls.insecureSkipVerify) }}
{{- end }}
{{- printf "%s://%s%s:%d/%d%s" $scheme $auth $r.host (int $r.port) (int $r.db) $query }}
{{- end }}

{{/* Env entries for Redis, shared by workers and the producer. Order matters:
Kubernetes expands $(REDIS_PASSWORD) only from variables defined earlier in the list. */}}
{{- define "hume-fleet.redisEnv" -}}
{{- if include "hume-fleet.redisAuth" . }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hume-fleet.redisSecretName" . }}
      key: {{ .Values.redis.passwordKey }}
{{- end }}
- name: REDIS_URL
  value: {{ include "hume-fleet.redisUrl" . | quote }}
{{- if .Values.redis.tls.caSecret }}
- name: REDIS_TLS_CA_FILE
  value: /etc/hume-fleet/redis-tls/ca.crt
{{- end }}
{{- end }}

{{/* The private CA of Redis (redis.tls.caSecret): a volume and its mount, for workers and
the producer. Empty without a caSecret. */}}
{{- define "hume-fleet.redisCaVolume" -}}
{{- with .Values.redis.tls.caSecret }}
- name: redis-ca
  secret:
    secretName: {{ . }}
    defaultMode: 0444
    items:
      - key: {{ $.Values.redis.tls.caKey }}
        path: ca.crt
{{- end }}
{{- end }}

{{- define "hume-fleet.redisCaMount" -}}
{{- if .Values.redis.tls.caSecret }}
- name: redis-ca
  mountPath: /etc/hume-fleet/redis-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* Object-store credentials (AWS_* variables) for workers and the producer. */}}
{{- define "hume-fleet.objectStoreEnv" -}}
{{- with .Values.objectStore.region }}
- name: AWS_DEFAULT_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.objectStore.endpointUrl }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "hume-fleet.objectStoreEnvFrom" -}}
{{- with include "hume-fleet.objectStoreSecret" . }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end }}

{{/* HUME_STREAM_URL: the in-cluster emulator when it serves the workers, else hume.streamUrl. */}}
{{- define "hume-fleet.streamUrl" -}}
{{- if and .Values.emulator.enabled .Values.emulator.useForWorkers }}
{{- printf "ws://%s.%s.svc:%d%s" (include "hume-fleet.componentName" (list . "emulator")) .Release.Namespace (int .Values.emulator.port) .Values.emulator.streamPath }}
{{- else }}
{{- .Values.hume.streamUrl }}
{{- end }}
{{- end }}

{{/* HUME_REALTIME_URL (v1): the in-cluster emulator's v1 path when it serves the workers, else hume.realtimeUrl. */}}
{{- define "hume-fleet.realtimeUrl" -}}
{{- if and .Values.emulator.enabled .Values.emulator.useForWorkers }}
{{- printf "ws://%s.%s.svc:%d/v1/expression/audio/realtime" (include "hume-fleet.componentName" (list . "emulator")) .Release.Namespace (int .Values.emulator.port) }}
{{- else }}
{{- .Values.hume.realtimeUrl }}
{{- end }}
{{- end }}

{{/* Grace period of a worker pod: Celery's warm shutdown on SIGTERM lets the running job
finish, so the pod must be allowed to live at least as long as the longest task. */}}
{{- define "hume-fleet.terminationGracePeriodSeconds" -}}
{{- $w := .Values.worker }}
{{- $hard := int $w.taskHardLimitSeconds }}
{{- if kindIs "invalid" $w.terminationGracePeriodSeconds }}
{{- add $hard (int $w.drainMarginSeconds) }}
{{- else if lt (int $w.terminationGracePeriodSeconds) $hard }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%d) is shorter than worker.taskHardLimitSeconds (%d): a scale-in or rollout would kill running jobs. Raise it, or leave it null to use taskHardLimitSeconds + drainMarginSeconds." (int $w.terminationGracePeriodSeconds) $hard) }}
{{- else }}
{{- int $w.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Checks across values that the schema cannot express. Rendered by the ConfigMap. */}}
{{- define "hume-fleet.validate" -}}
{{- if and .Values.producer.enabled (or (not .Values.producer.uri) (not .Values.producer.batch)) }}
{{- fail "producer.enabled needs producer.uri (e.g. s3://calls/2026-11/) and producer.batch" }}
{{- end }}
{{- $k := .Values.autoscaling.keda }}
{{- if and $k.enabled (gt (int $k.minReplicas) (int $k.maxReplicas)) }}
{{- fail "autoscaling.keda.minReplicas is larger than autoscaling.keda.maxReplicas" }}
{{- end }}
{{- if and $k.enabled $k.inProgress.enabled (not $k.inProgress.serverAddress) }}
{{- fail "autoscaling.keda.inProgress.enabled needs autoscaling.keda.inProgress.serverAddress (the Prometheus URL KEDA queries)" }}
{{- end }}
{{- if and .Values.redis.tls.caSecret (not .Values.redis.tls.enabled) }}
{{- fail "redis.tls.caSecret needs redis.tls.enabled (the CA verifies a TLS connection)" }}
{{- end }}
{{- if and .Values.redis.tls.caSecret .Values.redis.tls.insecureSkipVerify }}
{{- fail "redis.tls.caSecret and redis.tls.insecureSkipVerify exclude each other (a CA is for verifying)" }}
{{- end }}
{{- $h := .Values.autoscaling.hpa }}
{{- if and (not $k.enabled) $h.enabled (gt (int $h.minReplicas) (int $h.maxReplicas)) }}
{{- fail "autoscaling.hpa.minReplicas is larger than autoscaling.hpa.maxReplicas" }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- security */}}

{{/* Pod Security Standard "restricted", at pod level ... */}}
{{- define "hume-fleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* ... and on every container. */}}
{{- define "hume-fleet.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod-level fields every workload shares. */}}
{{- define "hume-fleet.podCommon" -}}
serviceAccountName: {{ include "hume-fleet.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- include "hume-fleet.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}
