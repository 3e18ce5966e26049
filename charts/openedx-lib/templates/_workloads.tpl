{{/*
Workload scaling and placement shared by every Deployment: replicas (left out while an HPA owns the
count), HorizontalPodAutoscaler, PodDisruptionBudget (only with two replicas or more: with one it
would block node drains), and the pod placement fields.
*/}}

{{/*
openedx-lib.workloads.minReplicas: the lowest replica count of a workload: autoscaling.minReplicas
when its HPA is enabled, else replicaCount.
Usage: {{ include "openedx-lib.workloads.minReplicas" .Values.web | int }}
*/}}
{{- define "openedx-lib.workloads.minReplicas" -}}
{{- if and .autoscaling .autoscaling.enabled -}}
{{- int .autoscaling.minReplicas -}}
{{- else -}}
{{- int .replicaCount -}}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.workloads.replicas: the Deployment's `replicas` field, or nothing when an HPA owns it
(a `replicas` in the manifest would reset the HPA's count on every upgrade).
Usage: {{- include "openedx-lib.workloads.replicas" .Values.web | nindent 2 }}
*/}}
{{- define "openedx-lib.workloads.replicas" -}}
{{- if not (and .autoscaling .autoscaling.enabled) -}}
replicas: {{ int .replicaCount }}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.workloads.hpa: an autoscaling/v2 HorizontalPodAutoscaler scaling Deployment `name` on
CPU utilisation (of the requests), when `values.autoscaling.enabled`.
Usage: {{ include "openedx-lib.workloads.hpa" (dict "name" "lms" "component" "web" "values" .Values.web "context" $) }}
*/}}
{{- define "openedx-lib.workloads.hpa" -}}
{{- $a := .values.autoscaling -}}
{{- if and $a $a.enabled -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "%s: autoscaling.minReplicas (%d) is above maxReplicas (%d)" .name (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "context" .context) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ int $a.minReplicas }}
  maxReplicas: {{ int $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int $a.targetCPUUtilizationPercentage }}
  {{- with $a.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.workloads.pdb: a policy/v1 PodDisruptionBudget for the pods of `name`, only when
`values.pdb.enabled` and the workload runs at least two replicas (minReplicas of its HPA, or
replicaCount).
Usage: {{ include "openedx-lib.workloads.pdb" (dict "name" "lms" "component" "web" "values" .Values.web "context" $) }}
*/}}
{{- define "openedx-lib.workloads.pdb" -}}
{{- $pdb := .values.pdb -}}
{{- if and $pdb $pdb.enabled (ge (include "openedx-lib.workloads.minReplicas" .values | int) 2) -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "context" .context) | nindent 4 }}
spec:
  maxUnavailable: {{ $pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "openedx-lib.labels.selector" (dict "name" .name "context" .context) | nindent 6 }}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.workloads.placement: the pod fields that place and prioritise it, from a component's
values (nodeSelector, tolerations, affinity, topologySpreadConstraints, priorityClassName,
terminationGracePeriodSeconds); unset ones are left out.
Usage: {{- include "openedx-lib.workloads.placement" .Values.web | nindent 6 }}
*/}}
{{- define "openedx-lib.workloads.placement" -}}
{{- range $field := list "nodeSelector" "tolerations" "affinity" "topologySpreadConstraints" }}
{{- with get $ $field }}
{{ $field }}:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if not (kindIs "invalid" .terminationGracePeriodSeconds) }}
terminationGracePeriodSeconds: {{ int .terminationGracePeriodSeconds }}
{{- end }}
{{- end -}}

{{/*
openedx-lib.workloads.podMetadata: a pod template's metadata (standard labels plus podLabels, and
podAnnotations).
Usage: metadata: {{- include "openedx-lib.workloads.podMetadata" (dict "name" "lms" "component" "web" "values" .Values.web "context" $) | nindent 4 }}
*/}}
{{- define "openedx-lib.workloads.podMetadata" -}}
labels:
  {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "version" .version "extra" .values.podLabels "context" .context) | nindent 2 }}
{{- with .values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
openedx-lib.workloads.lifecycle: the container `lifecycle` of a pod behind a Service: a preStop sleep of
`preStopSeconds` (when above 0), so that the pod keeps serving while its removal from the endpoints reaches
kube-proxy and the ingress controller; only then does it get SIGTERM. The sleep action of the kubelet
(Kubernetes 1.30+), not `sleep` in the image: it needs no shell and counts against the grace period.
Usage: {{- include "openedx-lib.workloads.lifecycle" (dict "values" .Values.web "path" "lms.web") | nindent 4 }}
*/}}
{{- define "openedx-lib.workloads.lifecycle" -}}
{{- $v := .values -}}
{{- if gt (int (default 0 $v.preStopSeconds)) 0 -}}
{{- $grace := ternary 30 $v.terminationGracePeriodSeconds (kindIs "invalid" $v.terminationGracePeriodSeconds) -}}
{{- if ge (int $v.preStopSeconds) (int $grace) -}}
{{- fail (printf "%s.preStopSeconds (%d) must be below %s.terminationGracePeriodSeconds (%d; null: 30): the pod needs time to stop after it" .path (int $v.preStopSeconds) .path (int $grace)) -}}
{{- end -}}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int $v.preStopSeconds }}
{{- end -}}
{{- end -}}
