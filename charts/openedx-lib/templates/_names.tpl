{{/*
Names. Open edX settings hard-code the Service names (lms, cms, mfe, caddy, mysql, ...), so the
charts use fixed object names: one instance per namespace. These helpers only build names that are
not fixed by the settings, and the chart label.
*/}}

{{/*
openedx-lib.names.chart: the value of the `helm.sh/chart` label, "<chart>-<version>".
Usage: {{ include "openedx-lib.names.chart" $ }}
*/}}
{{- define "openedx-lib.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
openedx-lib.names.dnsLabel: turns any string into a DNS-1123 label of at most `max` characters
(lower case; every character outside [a-z0-9-] becomes "-"; no leading or trailing "-").
Usage: {{ include "openedx-lib.names.dnsLabel" (dict "value" "init-01_lms.sh" "max" 40) }}
*/}}
{{- define "openedx-lib.names.dnsLabel" -}}
{{- $max := int (default 63 .max) -}}
{{- regexReplaceAll "[^a-z0-9-]+" (lower (toString .value)) "-" | trunc $max | trimAll "-" -}}
{{- end -}}
