{{/*
Labels. Every object and pod template of the three charts of an instance carries the recommended
`app.kubernetes.io/*` labels, `helm.sh/chart`, and the instance label `app.openedx.org/instance`,
which the NetworkPolicies of the openedx-namespace chart select on.
*/}}

{{/*
openedx-lib.labels.instanceKey: the key of the instance label.
Usage: {{ include "openedx-lib.labels.instanceKey" . }}: my-instance
*/}}
{{- define "openedx-lib.labels.instanceKey" -}}
app.openedx.org/instance
{{- end -}}

{{/*
openedx-lib.labels.instance: the instance label alone (fails when `global.instance` is unset).
Usage: {{- include "openedx-lib.labels.instance" $ | nindent 4 }}
*/}}
{{- define "openedx-lib.labels.instance" -}}
{{ include "openedx-lib.labels.instanceKey" . }}: {{ include "openedx-lib.validate.instance" . | quote }}
{{- end -}}

{{/*
openedx-lib.labels.selector: the immutable labels a workload selects its pods by.
Usage: {{- include "openedx-lib.labels.selector" (dict "name" "lms" "context" $) | nindent 6 }}
*/}}
{{- define "openedx-lib.labels.selector" -}}
app.kubernetes.io/name: {{ .name | quote }}
app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
{{ include "openedx-lib.labels.instance" .context }}
{{- end -}}

{{/*
openedx-lib.labels.standard: the full label set of an object or pod template. `version` defaults to
the chart's appVersion (pass an image tag where the object runs another application); `extra` is an
optional map of additional labels (e.g. podLabels from values) that cannot override the
standard ones.
Usage: {{- include "openedx-lib.labels.standard" (dict "name" "lms" "component" "web" "context" $) | nindent 4 }}
*/}}
{{- define "openedx-lib.labels.standard" -}}
{{- $labels := include "openedx-lib.labels.selector" . | fromYaml -}}
{{- $_ := set $labels "app.kubernetes.io/component" (toString .component) -}}
{{- $_ = set $labels "app.kubernetes.io/part-of" "openedx" -}}
{{- $_ = set $labels "app.kubernetes.io/managed-by" .context.Release.Service -}}
{{- $_ = set $labels "helm.sh/chart" (include "openedx-lib.names.chart" .context) -}}
{{- with (default .context.Chart.AppVersion .version) -}}
{{- $_ = set $labels "app.kubernetes.io/version" (regexReplaceAll "[^A-Za-z0-9._-]" (toString .) "_" | trunc 63 | trimAll "-._") -}}
{{- end -}}
{{- /* Extra labels never override the standard ones: selectors depend on them. */ -}}
{{- toYaml (merge $labels (deepCopy (default (dict) .extra))) -}}
{{- end -}}
