{{/*
Helpers of the openedx chart (the umbrella): what the whole Release shares — the public hosts, the
Ingress and its TLS, the init hook Jobs and the CronJobs. Component helpers live in openedx-lib.
*/}}

{{/*
openedx.hosts: the public hosts of the instance as a YAML list, in order lms, cms, mfe, meilisearch,
then ingress.extraHosts; empty and repeated ones left out.
Usage: {{ include "openedx.hosts" $ | fromYamlArray }}
*/}}
{{- define "openedx.hosts" -}}
{{- $hosts := list -}}
{{- with .Values.global.hosts }}
{{- $hosts = list .lms .cms .mfe .meilisearch }}
{{- end }}
{{- $hosts = concat $hosts (default (list) .Values.ingress.extraHosts) | compact | uniq -}}
{{- toYaml $hosts -}}
{{- end -}}

{{/*
openedx.ingress.name: the name of the instance's Ingress (the instance name).
Usage: {{ include "openedx.ingress.name" $ }}
*/}}
{{- define "openedx.ingress.name" -}}
{{- include "openedx-lib.validate.instance" . -}}
{{- end -}}

{{/*
openedx.ingress.tlsSecretName: the Secret of the instance's certificate: ingress.tls.existingSecret,
else ingress.tls.secretName, else "<instance>-tls".
Usage: {{ include "openedx.ingress.tlsSecretName" $ }}
*/}}
{{- define "openedx.ingress.tlsSecretName" -}}
{{- with .Values.ingress.tls -}}
{{- coalesce .existingSecret .secretName (printf "%s-tls" (include "openedx-lib.validate.instance" $)) -}}
{{- end -}}
{{- end -}}

{{/*
openedx.ingress.annotations: ingress.annotations plus the cert-manager issuer annotation (fails when
more than one certificate source is set).
Usage: {{- include "openedx.ingress.annotations" $ | nindent 4 }}
*/}}
{{- define "openedx.ingress.annotations" -}}
{{- $annotations := deepCopy (default (dict) .Values.ingress.annotations) -}}
{{- $tls := .Values.ingress.tls -}}
{{- if $tls.enabled -}}
{{- if and $tls.clusterIssuer $tls.issuer -}}
{{- fail "ingress.tls: set clusterIssuer or issuer, not both" -}}
{{- end -}}
{{- if and $tls.existingSecret (or $tls.clusterIssuer $tls.issuer) -}}
{{- fail "ingress.tls: existingSecret is a certificate you provide; do not also set clusterIssuer or issuer" -}}
{{- end -}}
{{- with $tls.clusterIssuer }}{{ $_ := set $annotations "cert-manager.io/cluster-issuer" . }}{{ end -}}
{{- with $tls.issuer }}{{ $_ := set $annotations "cert-manager.io/issuer" . }}{{ end -}}
{{- end -}}
{{- with $annotations }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
openedx.init.jobName: the name of the hook Job of init task number `index`:
"init-<NN>-<service>-<key as a DNS label>", at most 63 characters.
Usage: {{ include "openedx.init.jobName" (dict "index" 0 "task" $task) }}
*/}}
{{- define "openedx.init.jobName" -}}
{{- $key := include "openedx-lib.names.dnsLabel" (dict "value" .task.key "max" 45) -}}
{{- printf "init-%02d-%s-%s" (int .index) .task.service $key | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
openedx.init.key: what the init tasks depend on, hashed: the settings Secret's name (it changes with
their content), the openedx image, the task list and init.revision. The tasks run again only when it
changes.
Usage: {{ include "openedx.init.key" $ }}
*/}}
{{- define "openedx.init.key" -}}
{{- $image := include "openedx-lib.images.image" (dict "image" .Values.global.openedxImage "context" .) -}}
{{- dict "settings" (include "openedx-lib.settings.secretName" .) "image" $image "tasks" .Values.init.tasks "revision" .Values.init.revision | toJson | sha256sum | trunc 16 -}}
{{- end -}}

{{/*
openedx.init.due: "true" when the init tasks run in this install or upgrade: the init key differs from
the one the ConfigMap openedx-init recorded after the last successful run (none on a first install).
Usage: {{ if include "openedx.init.due" $ }}...{{ end }}
*/}}
{{- define "openedx.init.due" -}}
{{- $last := dict -}}
{{- with lookup "v1" "ConfigMap" .Release.Namespace "openedx-init" }}{{ $last = default (dict) .data }}{{ end -}}
{{- if ne (get $last "key") (include "openedx.init.key" .) }}true{{ end -}}
{{- end -}}
