{{/*
Caddy-based workloads: the internal router (`caddy` image) and the MFE server (`openedx-mfe` image,
built on caddy). Both images run as root by default and their caddy binary carries the file
capability cap_net_bind_service=+ep: with every capability dropped the kernel refuses to exec it. So
they run as UID/GID 1000 with NET_BIND_SERVICE added back (the one capability the restricted profile
allows), a read-only root filesystem, and emptyDirs for caddy's /data and /config (XDG dirs: autosave,
locks) and /tmp. The Caddyfile comes from the settings Secret (the router's maintenance page: a ConfigMap).
*/}}

{{/*
openedx-lib.caddy.deployment: the Deployment of a caddy-based component.
  name        object and container name (caddy | mfe)
  component   app.kubernetes.io/component
  secretKey   key of its Caddyfile in the settings Secret
  configMap   a ConfigMap whose key Caddyfile replaces it (optional: the router's maintenance page)
  port        container port (named "http")
  env         container env list (optional)
  probes      {startupProbe|readinessProbe|livenessProbe: {probe, handler}}
  context     the subchart root ($); its values give image, replicaCount, updateStrategy, resources,
              security overrides, placement, preStopSeconds, podLabels, podAnnotations, extraEnv
Usage: {{ include "openedx-lib.caddy.deployment" (dict "name" "mfe" "component" "frontend" "secretKey" "mfe-Caddyfile" "port" 8002 "probes" $probes "context" $) }}
*/}}
{{- define "openedx-lib.caddy.deployment" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "version" $v.image.tag "context" $ctx) | nindent 4 }}
spec:
  replicas: {{ int $v.replicaCount }}
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
      {{- include "openedx-lib.workloads.podMetadata" (dict "name" .name "component" .component "version" $v.image.tag "values" $v "context" $ctx) | nindent 6 }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with include "openedx-lib.images.pullSecrets" $ctx | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- include "openedx-lib.security.pod" (dict "user" 1000 "group" 1000 "override" $v.podSecurityContext) | nindent 8 }}
      {{- with include "openedx-lib.workloads.placement" $v | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          {{- include "openedx-lib.images.container" (dict "image" $v.image "context" $ctx) | nindent 10 }}
          {{- $env := concat (default (list) .env) (default (list) $v.extraEnv) }}
          {{- with $env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ int .port }}
              protocol: TCP
          {{- with include "openedx-lib.probes.all" .probes | trim }}
          {{- . | nindent 10 }}
          {{- end }}
          {{- with include "openedx-lib.workloads.lifecycle" (dict "values" $v "path" .name) }}
          {{- . | nindent 10 }}
          {{- end }}
          resources:
            {{- include "openedx-lib.resources.render" (dict "resources" $v.resources "path" (printf "%s.resources" .name)) | nindent 12 }}
          securityContext:
            {{- include "openedx-lib.security.container" (dict "add" (list "NET_BIND_SERVICE") "override" $v.containerSecurityContext) | nindent 12 }}
          volumeMounts:
            - name: caddyfile
              mountPath: /etc/caddy/
              readOnly: true
            - name: caddy-data
              mountPath: /data
            - name: caddy-config
              mountPath: /config
            - name: tmp
              mountPath: /tmp
      volumes:
        {{- if .configMap }}
        - name: caddyfile
          configMap:
            name: {{ .configMap }}
            defaultMode: 292
        {{- else }}
        {{- include "openedx-lib.settings.secretVolume" (dict "name" "caddyfile" "items" (dict .secretKey "Caddyfile") "context" $ctx) | nindent 8 }}
        {{- end }}
        - name: caddy-data
          emptyDir: {}
        - name: caddy-config
          emptyDir: {}
        - name: tmp
          emptyDir: {}
{{- end -}}

{{/*
openedx-lib.caddy.service: the ClusterIP Service of a caddy-based component, `port` to the
container's "http" port.
Usage: {{ include "openedx-lib.caddy.service" (dict "name" "caddy" "component" "router" "port" 80 "context" $) }}
*/}}
{{- define "openedx-lib.caddy.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "version" .context.Values.image.tag "context" .context) | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: http
      port: {{ int .port }}
      targetPort: http
      protocol: TCP
  selector:
    {{- include "openedx-lib.labels.selector" (dict "name" .name "context" .context) | nindent 4 }}
{{- end -}}
