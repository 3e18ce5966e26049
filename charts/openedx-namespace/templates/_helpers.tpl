{{/*
Helpers of the openedx-namespace chart.
*/}}

{{/*
openedx-namespace.name: the name of an object of the instance: "<instance>-<suffix>".
Usage: {{ include "openedx-namespace.name" (dict "suffix" "default-deny" "context" $) }}
*/}}
{{- define "openedx-namespace.name" -}}
{{- printf "%s-%s" (include "openedx-lib.validate.instance" .context) .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
openedx-namespace.instancePods: a podSelector (or namespace-local peer) matching every pod of the
instance, in both of its Releases.
Usage: podSelector: {{- include "openedx-namespace.instancePods" $ | nindent 4 }}
*/}}
{{- define "openedx-namespace.instancePods" -}}
matchLabels:
  {{- include "openedx-lib.labels.instance" . | nindent 2 }}
{{- end -}}

{{/*
openedx-namespace.ports: NetworkPolicy ports from a list of port numbers, for each protocol given.
Usage: {{- include "openedx-namespace.ports" (dict "ports" (list 53) "protocols" (list "UDP" "TCP")) | nindent 8 }}
*/}}
{{- define "openedx-namespace.ports" -}}
{{- range $port := .ports }}
{{- range $protocol := $.protocols }}
- protocol: {{ $protocol }}
  port: {{ int $port }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
openedx-namespace.peer: a NetworkPolicy peer from {namespaceSelector, podSelector} values (an empty
podSelector: every pod of the selected namespaces).
Usage: {{- include "openedx-namespace.peer" .Values.networkPolicy.ingressController | nindent 8 }}
*/}}
{{- define "openedx-namespace.peer" -}}
{{- range $field := list "namespaceSelector" "podSelector" }}
{{- $selector := default (dict) (get $ $field) }}
{{ ternary "- " "  " (eq $field "namespaceSelector") }}{{ $field }}:
{{- if $selector }}
{{- toYaml $selector | nindent 4 }}
{{- else }} {}
{{- end }}
{{- end }}
{{- end -}}
