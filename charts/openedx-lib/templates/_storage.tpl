{{/*
Storage: the storage class of PersistentVolumeClaims.
*/}}

{{/*
openedx-lib.storage.class: the `storageClassName` field of a PVC: `storageClass` (a component's
persistence.storageClass) or else global.storageClass; "-" means "" (no class: static binding);
nothing when both are unset (the cluster's default class). A StorageClass with reclaimPolicy Retain
keeps the data of a deleted PVC.
Usage: {{- include "openedx-lib.storage.class" (dict "storageClass" .Values.mysql.persistence.storageClass "context" $) | nindent 8 }}
*/}}
{{- define "openedx-lib.storage.class" -}}
{{- $class := .storageClass -}}
{{- if not $class }}{{ with .context.Values.global }}{{ $class = .storageClass }}{{ end }}{{ end -}}
{{- if $class -}}
storageClassName: {{ ternary "" $class (eq $class "-") | quote }}
{{- end -}}
{{- end -}}
