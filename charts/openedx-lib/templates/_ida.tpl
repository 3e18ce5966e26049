{{/*
IDAs ("independently deployable applications"): the Django services Tutor plugins add beside the LMS
(notes, credentials), each run from its plugin's image the way the plugin's Kubernetes manifests run it:
the image's CMD (gunicorn or uwsgi on port 8000), WORKDIR and user (UID/GID 1000),
DJANGO_SETTINGS_MODULE naming the module Tutor renders, that module's file (a key of the settings
Secret) mounted alone (subPath) where the image imports it from, and the Service `<name>`:8000 the
settings and the Caddyfile call. On top: the restricted profile with a read-only root filesystem, so
each path the service writes to (`writablePaths`) is an emptyDir, and the optional CA bundles of
managed servers at /openedx/ca/, as in the openedx pods (the settings may name them). One pod spec
serves the web Deployment (the ida subchart) and the hook Jobs of the service's init tasks (the
openedx chart), so a task runs with exactly the service's image, environment and files.
*/}}

{{/*
openedx-lib.ida.podSpec: the spec of a pod running an IDA's image.
  name        the service (the alias of its ida subchart): container name, and the Host header of the probes
  role        web | init (web adds the port, the probes and the preStop sleep)
  values      the service's values: image, djangoSettingsModule, settings {key, mountPath}, writablePaths,
              env, extraEnv, resources, podSecurityContext, containerSecurityContext, placement (nodeSelector,
              tolerations, affinity, topologySpreadConstraints, priorityClassName,
              terminationGracePeriodSeconds) and, for web, port and preStopSeconds
  args        container args (optional; the image's CMD otherwise)
  probes      {startupProbe|readinessProbe|livenessProbe: {probe, handler}} (optional)
  path        values path named in error messages (optional; defaults to name)
  resourcesPath  values path of the resources, in error messages (optional; defaults to <path>.resources)
  restartPolicy, extraVolumes, extraVolumeMounts (optional)
Usage: spec: {{- include "openedx-lib.ida.podSpec" (dict "name" "notes" "role" "web" "values" .Values "context" $) | nindent 6 }}
*/}}
{{- define "openedx-lib.ida.podSpec" -}}
{{- $ctx := .context -}}
{{- $v := .values -}}
{{- $web := eq .role "web" -}}
{{- $path := default .name .path -}}
{{- $settings := default (dict) $v.settings -}}
{{- $module := include "openedx-lib.validate.required" (dict "value" $v.djangoSettingsModule "path" (printf "%s.djangoSettingsModule" $path) "reason" "the Django settings module the service runs with (DJANGO_SETTINGS_MODULE)") -}}
{{- $key := include "openedx-lib.validate.required" (dict "value" $settings.key "path" (printf "%s.settings.key" $path) "reason" "the key of the service's settings file in the settings Secret") -}}
{{- $mountPath := include "openedx-lib.validate.required" (dict "value" $settings.mountPath "path" (printf "%s.settings.mountPath" $path) "reason" "where the image imports the settings file from") -}}
{{- $writable := default (list) $v.writablePaths -}}
{{- range $dir := prepend $writable $mountPath }}
{{- if not (hasPrefix "/" (toString $dir)) }}
{{- fail (printf "%s: %q is not an absolute path (settings.mountPath, writablePaths)" $path (toString $dir)) }}
{{- end }}
{{- end -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
{{- with include "openedx-lib.images.pullSecrets" $ctx | trim }}
{{ . }}
{{- end }}
securityContext:
  {{- include "openedx-lib.security.pod" (dict "user" 1000 "group" 1000 "override" $v.podSecurityContext) | nindent 2 }}
{{- with include "openedx-lib.workloads.placement" $v | trim }}
{{ . }}
{{- end }}
containers:
  - name: {{ .name }}
    {{- include "openedx-lib.images.container" (dict "image" $v.image "context" $ctx) | nindent 4 }}
    {{- with .args }}
    args:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    env:
      - name: DJANGO_SETTINGS_MODULE
        value: {{ $module | quote }}
      {{- range $name, $value := $v.env }}
      - name: {{ $name }}
        value: {{ $value | quote }}
      {{- end }}
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- if $web }}
    ports:
      - name: http
        containerPort: {{ int $v.port }}
        protocol: TCP
    {{- end }}
    {{- with include "openedx-lib.probes.all" (default (dict) .probes) | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- if $web }}
    {{- with include "openedx-lib.workloads.lifecycle" (dict "values" $v "path" $path) }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- end }}
    resources:
      {{- include "openedx-lib.resources.render" (dict "resources" $v.resources "path" (default (printf "%s.resources" $path) .resourcesPath)) | nindent 6 }}
    securityContext:
      {{- include "openedx-lib.security.container" (dict "override" $v.containerSecurityContext) | nindent 6 }}
    volumeMounts:
      - name: settings
        mountPath: {{ $mountPath }}
        subPath: {{ $key }}
        readOnly: true
      {{- include "openedx-lib.settings.caVolumeMount" dict | nindent 6 }}
      {{- range $index, $dir := $writable }}
      - name: {{ printf "writable-%d" $index }}
        mountPath: {{ $dir }}
      {{- end }}
      {{- with .extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  {{- include "openedx-lib.settings.secretVolume" (dict "name" "settings" "items" (dict $key $key) "context" $ctx) | nindent 2 }}
  {{- include "openedx-lib.settings.caVolume" $ctx | nindent 2 }}
  {{- range $index, $dir := $writable }}
  - name: {{ printf "writable-%d" $index }}
    emptyDir: {}
  {{- end }}
  {{- with .extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
openedx-lib.ida.deployment: the Deployment of an IDA's web pods, from the ida subchart's values:
startup and readiness probes GET `probePath` (the service's health view, which checks its database)
with the service's name as Host (its settings' ALLOWED_HOSTS accept it: the name the LMS and Caddy call
it by), liveness on the TCP port (the health view as a liveness probe would restart every pod during a
database outage). During maintenance it runs no pod, like the lms and cms web pods.
Usage: {{ include "openedx-lib.ida.deployment" (dict "name" .Chart.Name "context" $) }}
*/}}
{{- define "openedx-lib.ida.deployment" -}}
{{- $ctx := .context -}}
{{- $v := include "openedx-lib.maintenance.scaled" (dict "values" (omit $ctx.Values "global") "context" $ctx) | fromYaml -}}
{{- $probes := dict "livenessProbe" (dict "probe" $v.livenessProbe "handler" (dict "tcpSocket" (dict "port" "http"))) -}}
{{- $httpProbed := false -}}
{{- range $kind := list "startupProbe" "readinessProbe" }}{{ with get $v $kind }}{{ if .enabled }}{{ $httpProbed = true }}{{ end }}{{ end }}{{ end -}}
{{- if $httpProbed -}}
{{- $health := dict "httpGet" (dict "path" (include "openedx-lib.validate.required" (dict "value" $v.probePath "path" (printf "%s.probePath" .name) "reason" "the path of the service's health view, which the startup and readiness probes request")) "port" "http" "httpHeaders" (list (dict "name" "Host" "value" .name))) -}}
{{- $_ := set $probes "startupProbe" (dict "probe" $v.startupProbe "handler" $health) -}}
{{- $_ = set $probes "readinessProbe" (dict "probe" $v.readinessProbe "handler" $health) -}}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" "web" "version" $v.image.tag "context" $ctx) | nindent 4 }}
spec:
  {{- with include "openedx-lib.workloads.replicas" $v }}
  {{- . | nindent 2 }}
  {{- end }}
  revisionHistoryLimit: {{ int $v.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "openedx-lib.labels.selector" (dict "name" .name "context" $ctx) | nindent 6 }}
  {{- with $v.updateStrategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      {{- include "openedx-lib.workloads.podMetadata" (dict "name" .name "component" "web" "version" $v.image.tag "values" $v "context" $ctx) | nindent 6 }}
    spec:
      {{- include "openedx-lib.ida.podSpec" (dict "name" .name "role" "web" "values" $v "args" $v.args "probes" $probes "context" $ctx) | nindent 6 }}
{{- end -}}

{{/*
openedx-lib.ida.service: the ClusterIP Service of an IDA's web pods, named after the service (`notes`,
`credentials`: the settings and the Caddyfile call them so), on its `port`.
Usage: {{ include "openedx-lib.ida.service" (dict "name" .Chart.Name "context" $) }}
*/}}
{{- define "openedx-lib.ida.service" -}}
{{- $v := .context.Values -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" "web" "version" $v.image.tag "context" .context) | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: http
      port: {{ int $v.port }}
      targetPort: http
      protocol: TCP
  selector:
    {{- include "openedx-lib.labels.selector" (dict "name" .name "context" .context) | nindent 4 }}
{{- end -}}
