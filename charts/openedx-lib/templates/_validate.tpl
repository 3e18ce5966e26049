{{/*
Validation of the values every chart of an instance relies on. The values schemas reject most bad
input; these checks give a clear message where a schema cannot (or was skipped with
--skip-schema-validation).
*/}}

{{/*
openedx-lib.validate.instance: returns `global.instance`, failing with a clear message when it is
empty or not a DNS label. It is the value of the `app.openedx.org/instance` label that one set of
NetworkPolicies uses to select every pod of the instance, across its Releases.
Usage: {{ include "openedx-lib.validate.instance" $ }}
*/}}
{{- define "openedx-lib.validate.instance" -}}
{{- $instance := "" -}}
{{- with .Values.global }}{{ $instance = toString (default "" .instance) }}{{ end -}}
{{- if not $instance -}}
{{- fail "global.instance is required: the name of the Open edX instance (a DNS label, the same in the openedx-namespace, openedx-services and openedx Releases)" -}}
{{- end -}}
{{- if or (gt (len $instance) 63) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $instance)) -}}
{{- fail (printf "global.instance %q is not a DNS label (lower-case letters, digits and '-', at most 63 characters)" $instance) -}}
{{- end -}}
{{- $instance -}}
{{- end -}}

{{/*
openedx-lib.validate.required: returns `value`, or fails with "<path> is required: <reason>" when it
is empty.
Usage: {{ include "openedx-lib.validate.required" (dict "value" .Values.global.settingsSecret "path" "global.settingsSecret" "reason" "the settings Secret") }}
*/}}
{{- define "openedx-lib.validate.required" -}}
{{- if not .value -}}
{{- fail (printf "%s is required: %s" .path .reason) -}}
{{- end -}}
{{- .value -}}
{{- end -}}
