{{/*
Settings. Every settings file (they hold credentials) comes from ONE pre-created Secret named by
`global.settingsSecret`; the chart never creates it. The name changes with the content (the caller
makes it immutable and content-addressed), so pods roll because their volume names a new Secret and
a rollback returns to the old one. Each volume projects only its own keys (`items`), at the paths
Tutor's Kubernetes manifests use:

  key                              path
  lms.env.yml, cms.env.yml         /openedx/config/
  lms-settings-<module>.py         /openedx/edx-platform/lms/envs/tutor/<module>.py
  cms-settings-<module>.py         /openedx/edx-platform/cms/envs/tutor/<module>.py
  uwsgi.ini                        /openedx/uwsgi.ini (lms/cms web only, subPath)
  caddy-Caddyfile, mfe-Caddyfile   /etc/caddy/Caddyfile of caddy and mfe
  <init task keys>                 /openedx/init-tasks/<key> (hook Jobs only)
  mysql-ca.pem, mongodb-ca.pem     /openedx/ca/: the CAs managed MySQL and MongoDB servers are verified
  (optional)                       against (Amazon RDS and DocumentDB, Cloud SQL); absent when not needed

<module> is __init__ and production: the pods import Tutor's production module (its development and
test modules serve `tutor dev` and its tests, and are not in the Secret).
*/}}

{{/*
openedx-lib.settings.secretName: `global.settingsSecret`, failing with a clear message when unset.
Usage: {{ include "openedx-lib.settings.secretName" $ }}
*/}}
{{- define "openedx-lib.settings.secretName" -}}
{{- $name := "" -}}
{{- with .Values.global }}{{ $name = .settingsSecret }}{{ end -}}
{{- include "openedx-lib.validate.required" (dict "value" $name "path" "global.settingsSecret" "reason" "the name of the pre-created Secret holding the settings files (see the chart README for its keys)") -}}
{{- end -}}

{{/*
openedx-lib.settings.modules: the Django settings modules Tutor renders for each service variant.
Usage: {{ range include "openedx-lib.settings.modules" . | splitList " " }}...{{ end }}
*/}}
{{- define "openedx-lib.settings.modules" -}}
__init__ production
{{- end -}}

{{/*
openedx-lib.settings.secretVolume: one volume projecting `items` ({key: path}) of the settings Secret;
`optional` true when the Secret may lack them.
Usage: {{- include "openedx-lib.settings.secretVolume" (dict "name" "caddy-config" "items" (dict "caddy-Caddyfile" "Caddyfile") "context" $) | nindent 8 }}
*/}}
{{- define "openedx-lib.settings.secretVolume" -}}
- name: {{ .name }}
  secret:
    secretName: {{ include "openedx-lib.settings.secretName" .context }}
    defaultMode: 292 {{- /* 0444: read-only, readable by the pod user whatever its fsGroup */}}
    {{- if .optional }}
    optional: true {{- /* a key the Secret may lack: the volume is then empty */}}
    {{- end }}
    items:
      {{- range $key, $path := .items }}
      - key: {{ $key | quote }}
        path: {{ $path | quote }}
      {{- end }}
{{- end -}}

{{/*
openedx-lib.settings.caVolume: the CA bundles managed MySQL and MongoDB servers are verified against
(optional keys of the settings Secret), for every pod that reaches them.
Usage: {{- include "openedx-lib.settings.caVolume" $ | nindent 2 }}
*/}}
{{- define "openedx-lib.settings.caVolume" -}}
{{ include "openedx-lib.settings.secretVolume" (dict "name" "ca-certificates" "items" (dict "mysql-ca.pem" "mysql-ca.pem" "mongodb-ca.pem" "mongodb-ca.pem") "optional" true "context" .) }}
{{- end -}}

{{/*
openedx-lib.settings.caVolumeMount: the mount of caVolume, at /openedx/ca/ (where the settings name the files).
Usage: {{- include "openedx-lib.settings.caVolumeMount" dict | nindent 6 }}
*/}}
{{- define "openedx-lib.settings.caVolumeMount" -}}
- name: ca-certificates
  mountPath: /openedx/ca
  readOnly: true
{{- end -}}

{{/*
openedx-lib.settings.volumes: the settings volumes of an openedx pod: the lms and cms settings
modules, the two env YAML files and, when `uwsgi` is true, uwsgi.ini.
Usage: {{- include "openedx-lib.settings.volumes" (dict "uwsgi" true "context" $) | nindent 8 }}
*/}}
{{- define "openedx-lib.settings.volumes" -}}
{{- range $variant := list "lms" "cms" }}
{{- $items := dict }}
{{- range $module := include "openedx-lib.settings.modules" $ | splitList " " }}
{{- $_ := set $items (printf "%s-settings-%s.py" $variant $module) (printf "%s.py" $module) }}
{{- end }}
{{ include "openedx-lib.settings.secretVolume" (dict "name" (printf "settings-%s" $variant) "items" $items "context" $.context) }}
{{- end }}
{{ include "openedx-lib.settings.secretVolume" (dict "name" "config" "items" (dict "lms.env.yml" "lms.env.yml" "cms.env.yml" "cms.env.yml") "context" .context) }}
{{ include "openedx-lib.settings.caVolume" .context }}
{{- if .uwsgi }}
{{ include "openedx-lib.settings.secretVolume" (dict "name" "uwsgi-config" "items" (dict "uwsgi.ini" "uwsgi.ini") "context" .context) }}
{{- end }}
{{- end -}}

{{/*
openedx-lib.settings.volumeMounts: the mounts of the volumes above, at Tutor's paths.
Usage: {{- include "openedx-lib.settings.volumeMounts" (dict "uwsgi" true) | nindent 12 }}
*/}}
{{- define "openedx-lib.settings.volumeMounts" -}}
- name: settings-lms
  mountPath: /openedx/edx-platform/lms/envs/tutor/
  readOnly: true
- name: settings-cms
  mountPath: /openedx/edx-platform/cms/envs/tutor/
  readOnly: true
- name: config
  mountPath: /openedx/config
  readOnly: true
{{ include "openedx-lib.settings.caVolumeMount" . }}
{{- if .uwsgi }}
- name: uwsgi-config
  mountPath: /openedx/uwsgi.ini
  subPath: uwsgi.ini
  readOnly: true
{{- end }}
{{- end -}}
