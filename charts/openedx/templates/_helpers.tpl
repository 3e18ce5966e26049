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
their content), the openedx image, the task list, init.revision and the images of the other services
the tasks run in (openedx.init.serviceImages; left out when there are none, so that an instance without
plugin services keeps the key it had). The tasks run again only when it changes.
Usage: {{ include "openedx.init.key" $ }}
*/}}
{{- define "openedx.init.key" -}}
{{- $image := include "openedx-lib.images.image" (dict "image" .Values.global.openedxImage "context" .) -}}
{{- $inputs := dict "settings" (include "openedx-lib.settings.secretName" .) "image" $image "tasks" .Values.init.tasks "revision" .Values.init.revision -}}
{{- with include "openedx.init.serviceImages" . | fromYaml }}{{ $_ := set $inputs "services" . }}{{ end -}}
{{- $inputs | toJson | sha256sum | trunc 16 -}}
{{- end -}}

{{/*
openedx.init.serviceImages: the images init tasks may run in besides the openedx image, as a YAML map
service -> image: each enabled plugin service's (a new notes image runs its migrations again) and, when a
task runs in it, init.mysqlImage.
Usage: {{ include "openedx.init.serviceImages" $ | fromYaml }}
*/}}
{{- define "openedx.init.serviceImages" -}}
{{- $images := dict -}}
{{- range $service := include "openedx.idas" . | fromYamlArray }}
{{- $_ := set $images $service (include "openedx-lib.images.image" (dict "image" (index $.Values $service).image "context" $)) }}
{{- end }}
{{- range .Values.init.tasks }}
{{- if eq (toString .service) "mysql" }}
{{- $_ := set $images "mysql" (include "openedx-lib.images.image" (dict "image" $.Values.init.mysqlImage "context" $)) }}
{{- end }}
{{- end }}
{{- with $images }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
openedx.idas: the enabled plugin services, as a YAML list: the enabled dependencies whose values carry
djangoSettingsModule, the aliases of the ida subchart (Helm renames an aliased dependency after its
alias, so its chart name cannot tell, and leaves disabled ones out of .Chart.Dependencies).
Usage: {{ include "openedx.idas" $ | fromYamlArray }}
*/}}
{{- define "openedx.idas" -}}
{{- $aliases := list -}}
{{- range .Chart.Dependencies }}
{{- $values := get $.Values (default .Name .Alias) }}
{{- if and .Enabled (kindIs "map" $values) (hasKey $values "djangoSettingsModule") }}
{{- $aliases = append $aliases (default .Name .Alias) }}
{{- end }}
{{- end }}
{{- toYaml $aliases -}}
{{- end -}}

{{/*
openedx.init.service: checks the `service` of an init task (at `path`, e.g. init.tasks[3]) and returns
where it runs: "openedx" (lms, cms: that variant of the openedx image), "mysql" (the MySQL client image
init.mysqlImage) or "ida" (an enabled plugin service's image and settings). Anything else fails, naming
the value and the services allowed.
Usage: {{ include "openedx.init.service" (dict "service" $task.service "path" "init.tasks[3]" "context" $) }}
*/}}
{{- define "openedx.init.service" -}}
{{- $service := toString .service -}}
{{- $idas := include "openedx.idas" .context | fromYamlArray -}}
{{- if has $service (list "lms" "cms") -}}
openedx
{{- else if eq $service "mysql" -}}
mysql
{{- else if has $service $idas -}}
ida
{{- else -}}
{{- $enabled := ternary "none enabled" ($idas | join ", ") (empty $idas) -}}
{{- $hint := "" -}}
{{- $values := get .context.Values $service -}}
{{- if and (kindIs "map" $values) (hasKey $values "enabled") (not $values.enabled) -}}
{{- $hint = printf " (%s.enabled is false)" $service -}}
{{- end -}}
{{- fail (printf "%s.service: %q is not a service the init tasks run in%s; allowed: lms, cms, mysql and the enabled plugin services (%s)" .path $service $hint $enabled) -}}
{{- end -}}
{{- end -}}

{{/*
openedx.init.idaValues: the values of the pod of an init task of plugin service `service`: the service's
image, settings module and file, writable paths and environment (`env`, `extraEnv`, then init.extraEnv and
the task's `env`),
its security overrides with init's merged over them, and init's resources and placement.
Usage: {{ include "openedx.init.idaValues" (dict "service" "notes" "env" $task.env "context" $) | fromYaml }}
*/}}
{{- define "openedx.init.idaValues" -}}
{{- $ida := index .context.Values .service -}}
{{- $init := .context.Values.init -}}
{{- $security := dict -}}
{{- range $field := list "podSecurityContext" "containerSecurityContext" }}
{{- $_ := set $security $field (mergeOverwrite (deepCopy (default (dict) (get $ida $field))) (deepCopy (default (dict) (get $init $field)))) }}
{{- end }}
{{- $env := concat (default (list) $ida.extraEnv) (default (list) $init.extraEnv) (default (list) .env) -}}
{{- $values := merge (dict "extraEnv" $env "resources" $init.resources) $security (pick $ida "image" "djangoSettingsModule" "settings" "writablePaths" "env") (pick $init "nodeSelector" "tolerations" "affinity" "priorityClassName") -}}
{{- toYaml $values -}}
{{- end -}}

{{/*
openedx.init.mysqlPodSpec: the pod of a `mysql` init task (a plugin's SQL run with the mysql client, e.g.
tutor-credentials' sync_users) in init.mysqlImage, as that image's user (UID/GID 999) under the restricted
profile: `command` replaces the image's server entrypoint, /tmp (HOME) is the only writable path, and the
optional CA bundles of a managed server are under /openedx/ca/ as in the openedx pods. `values` gives the
resources, env (extraEnv), security overrides and placement (init's).
Usage: spec: {{- include "openedx.init.mysqlPodSpec" (dict "command" $args "values" $values "extraVolumes" $volumes "extraVolumeMounts" $mounts "context" $) | nindent 6 }}
*/}}
{{- define "openedx.init.mysqlPodSpec" -}}
{{- $ctx := .context -}}
{{- $v := .values -}}
automountServiceAccountToken: false
enableServiceLinks: false
restartPolicy: Never
{{- with include "openedx-lib.images.pullSecrets" $ctx | trim }}
{{ . }}
{{- end }}
securityContext:
  {{- include "openedx-lib.security.pod" (dict "user" 999 "group" 999 "override" $v.podSecurityContext) | nindent 2 }}
{{- with include "openedx-lib.workloads.placement" $v | trim }}
{{ . }}
{{- end }}
containers:
  - name: mysql
    {{- include "openedx-lib.images.container" (dict "image" $ctx.Values.init.mysqlImage "context" $ctx) | nindent 4 }}
    command:
      {{- toYaml .command | nindent 6 }}
    env:
      - name: HOME
        value: /tmp
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    resources:
      {{- include "openedx-lib.resources.render" (dict "resources" $v.resources "path" "init.resources") | nindent 6 }}
    securityContext:
      {{- include "openedx-lib.security.container" (dict "override" $v.containerSecurityContext) | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- include "openedx-lib.settings.caVolumeMount" dict | nindent 6 }}
      {{- with .extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  {{- include "openedx-lib.settings.caVolume" $ctx | nindent 2 }}
  {{- with .extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
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
