{{/*
Security contexts: the Kubernetes "restricted" Pod Security Standard for every pod. Values may add to
or override single fields (`podSecurityContext`, `containerSecurityContext` of each component); the
defaults are set here, once.
*/}}

{{/*
openedx-lib.security.pod: a pod securityContext: non-root with the given user and group, fsGroup
(defaults to the group; volumes become group-writable), seccomp RuntimeDefault. `override` is merged
over the result.
Usage: securityContext: {{- include "openedx-lib.security.pod" (dict "user" 1000 "group" 1000 "override" .Values.podSecurityContext) | nindent 8 }}
*/}}
{{- define "openedx-lib.security.pod" -}}
{{- $fsGroup := .group -}}
{{- if hasKey . "fsGroup" }}{{ $fsGroup = .fsGroup }}{{ end -}}
{{- $sc := dict "runAsNonRoot" true "runAsUser" .user "runAsGroup" .group "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- if not (kindIs "invalid" $fsGroup) -}}
{{- $_ := set $sc "fsGroup" $fsGroup -}}
{{- $_ = set $sc "fsGroupChangePolicy" "OnRootMismatch" -}}
{{- end -}}
{{- toYaml (mergeOverwrite $sc (deepCopy (default (dict) .override))) -}}
{{- end -}}

{{/*
openedx-lib.security.container: a container securityContext: no privilege escalation, every
capability dropped (`add` lists the few the image needs, e.g. NET_BIND_SERVICE, the only one the
restricted profile allows), read-only root filesystem, non-root, seccomp RuntimeDefault. `override`
is merged over the result.
Usage: securityContext: {{- include "openedx-lib.security.container" (dict "add" (list "NET_BIND_SERVICE") "override" .Values.containerSecurityContext) | nindent 12 }}
*/}}
{{- define "openedx-lib.security.container" -}}
{{- $capabilities := dict "drop" (list "ALL") -}}
{{- with .add }}{{ $_ := set $capabilities "add" . }}{{ end -}}
{{- $sc := dict "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "runAsNonRoot" true "capabilities" $capabilities "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- toYaml (mergeOverwrite $sc (deepCopy (default (dict) .override))) -}}
{{- end -}}
