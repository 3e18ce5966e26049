{{/*
Probes. Values hold the timings of each probe ({enabled, initialDelaySeconds, periodSeconds,
timeoutSeconds, failureThreshold, successThreshold}); templates give the handler, which depends on
what the image serves.
*/}}

{{/*
openedx-lib.probes.render: a probe from its values (`enabled` removed) and a handler map (httpGet,
tcpSocket or exec). Renders nothing when the probe is disabled, so it can follow the probe's key.
Usage:
  {{- with include "openedx-lib.probes.render" (dict "probe" .Values.readinessProbe "handler" (dict "tcpSocket" (dict "port" "http"))) }}
  readinessProbe: {{- . | nindent 12 }}
  {{- end }}
*/}}
{{- define "openedx-lib.probes.render" -}}
{{- if and .probe .probe.enabled -}}
{{- toYaml (merge (deepCopy .handler) (omit .probe "enabled")) -}}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.probes.all: the startup, readiness and liveness probes of a container from a map
{startupProbe|readinessProbe|livenessProbe: {probe: <values>, handler: <map>}}; disabled ones are
left out.
Usage: {{- include "openedx-lib.probes.all" (dict "readinessProbe" (dict "probe" .Values.readinessProbe "handler" $h)) | nindent 10 }}
*/}}
{{- define "openedx-lib.probes.all" -}}
{{- range $kind := list "startupProbe" "readinessProbe" "livenessProbe" }}
{{- with get $ $kind }}
{{- with include "openedx-lib.probes.render" . }}
{{ $kind }}:
{{- . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
