{{/*
openedx-provisioning.job: the Job that runs files/<engine>.sh with ACTION=<action> ("provision" or
"deprovision") against the shared server of `engine` ("mysql" or "mongodb"), as a Helm hook (`hook`).
MySQL's databases are `instanceDatabase` and `extraDatabases` (EXTRA_DATABASES, space-separated).
The credentials are files of one projected volume at $CREDENTIALS: admin-username and admin-password (and ca.pem, the server's CA bundle, when
`caKey` is set) from the admin Secret, app-password from the instance's (provisioning only); never an
environment variable, the spec or a command line. The client image's user (999) runs it under the
restricted profile; /tmp is the only writable path (mongosh keeps its state under $HOME).
Usage: {{ include "openedx-provisioning.job" (dict "engine" "mysql" "action" "provision" "hook" "post-install,post-upgrade" "context" $) }}
*/}}
{{- define "openedx-provisioning.job" -}}
{{- $ctx := .context -}}
{{- $v := index $ctx.Values .engine -}}
{{- $instance := include "openedx-lib.validate.instance" $ctx -}}
{{- $name := printf "%s-%s" .action .engine -}}
{{- $env := list
  (dict "name" "SERVER_HOST" "value" (include "openedx-lib.validate.required" (dict "value" $v.host "path" (printf "%s.host" .engine) "reason" "the shared server's host")))
  (dict "name" "SERVER_PORT" "value" (toString $v.port))
  (dict "name" "DATABASE" "value" (include "openedx-lib.validate.required" (dict "value" $v.instanceDatabase "path" (printf "%s.instanceDatabase" .engine) "reason" "the instance's database")))
  (dict "name" "APP_USER" "value" (include "openedx-lib.validate.required" (dict "value" $v.instanceUser "path" (printf "%s.instanceUser" .engine) "reason" "the instance's user")))
  (dict "name" "ACTION" "value" .action)
  (dict "name" "CREDENTIALS" "value" "/run/secrets/openedx")
  (dict "name" "HOME" "value" "/tmp") -}}
{{- if eq .engine "mysql" -}}
{{- $env = concat $env (list (dict "name" "SSL_MODE" "value" $v.sslMode) (dict "name" "EXTRA_DATABASES" "value" (join " " (default (list) $v.extraDatabases)))) -}}
{{- if eq .action "provision" -}}
{{- $env = append $env (dict "name" "MAX_CONNECTIONS" "value" (toString $v.maxConnections)) -}}
{{- end -}}
{{- end -}}
{{- $admin := list (dict "key" "username" "path" "admin-username") (dict "key" "password" "path" "admin-password") -}}
{{- if $v.caKey -}}
{{- $admin = append $admin (dict "key" $v.caKey "path" "ca.pem") -}}
{{- end -}}
{{- $sources := list (dict "secret" (dict "name" $v.adminSecret "items" $admin)) -}}
{{- if eq .action "provision" -}}
{{- $user := include "openedx-lib.validate.required" (dict "value" $v.passwordSecret "path" (printf "%s.passwordSecret" .engine) "reason" "the Secret holding the user's password") -}}
{{- $sources = append $sources (dict "secret" (dict "name" $user "items" (list (dict "key" "password" "path" "app-password")))) -}}
{{- end -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" $name $instance | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" $name "component" "provisioning" "context" $ctx) | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    # Kept after it ran (its log says what it did), replaced by the next run.
    helm.sh/hook-delete-policy: {{ .deletePolicy | default "before-hook-creation" }}
spec:
  backoffLimit: {{ int $ctx.Values.job.backoffLimit }}
  activeDeadlineSeconds: {{ int $ctx.Values.job.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "openedx-lib.labels.standard" (dict "name" $name "component" "provisioning" "context" $ctx) | nindent 8 }}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with include "openedx-lib.images.pullSecrets" $ctx | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- include "openedx-lib.security.pod" (dict "user" 999 "group" 999) | nindent 8 }}
      containers:
        - name: {{ .action }}
          {{- include "openedx-lib.images.container" (dict "image" (index $ctx.Values.images .engine) "context" $ctx) | nindent 10 }}
          command: ["bash", "-c", {{ $ctx.Files.Get (printf "files/%s.sh" .engine) | quote }}]
          env:
            {{- toYaml $env | nindent 12 }}
          resources:
            {{- include "openedx-lib.resources.render" (dict "resources" $ctx.Values.job.resources "path" "job.resources") | nindent 12 }}
          securityContext:
            {{- include "openedx-lib.security.container" dict | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: credentials
              mountPath: /run/secrets/openedx
              readOnly: true
      volumes:
        - name: tmp
          emptyDir: {}
        - name: credentials
          projected:
            defaultMode: 0440
            sources:
              {{- toYaml $sources | nindent 14 }}
{{- end -}}
