{{/*
The maintenance switch of an instance (`global.maintenance.enabled` of the openedx chart): the lms
and cms web and worker pods and the plugin services' (notes, credentials) are scaled to zero (no
HorizontalPodAutoscaler, no PodDisruptionBudget),
so nothing writes to the databases while a long migration runs, and the router answers every public
host with a maintenance page (HTTP 503 and Retry-After). Off again, the workloads get their replica
bounds back from their own values.
*/}}

{{/*
openedx-lib.maintenance.enabled: "true" while the instance is in maintenance, else empty.
Usage: {{ if include "openedx-lib.maintenance.enabled" $ }}...{{ end }}
*/}}
{{- define "openedx-lib.maintenance.enabled" -}}
{{- with .Values.global }}{{ with .maintenance }}{{ if .enabled }}true{{ end }}{{ end }}{{ end -}}
{{- end -}}

{{/*
openedx-lib.maintenance.scaled: a workload's values as a Deployment takes them: during maintenance
with zero replicas and autoscaling off, else unchanged. Returned as YAML.
Usage: {{- $v := include "openedx-lib.maintenance.scaled" (dict "values" .Values.web "context" $) | fromYaml }}
*/}}
{{- define "openedx-lib.maintenance.scaled" -}}
{{- if include "openedx-lib.maintenance.enabled" .context -}}
{{- $v := deepCopy .values -}}
{{- $autoscaling := deepCopy (default (dict) $v.autoscaling) -}}
{{- $_ := set $autoscaling "enabled" false -}}
{{- $_ = set $v "autoscaling" $autoscaling -}}
{{- $_ = set $v "replicaCount" 0 -}}
{{- toYaml $v -}}
{{- else -}}
{{- toYaml .values -}}
{{- end -}}
{{- end -}}
