{{/*
Open edX workloads: the pods that run the openedx image (lms and cms web, their Celery workers, the
init hook Jobs and the CronJobs), the way Tutor's Kubernetes manifests run them: same image,
commands, SERVICE_VARIANT / DJANGO_SETTINGS_MODULE / UWSGI_WORKERS, settings mounts, UID/GID 1000,
Services `lms` and `cms` on port 8000. On top: the restricted security profile with a read-only root
filesystem, so every path the image writes to is a volume: /openedx/data, /openedx/media,
/openedx/media-private, /tmp and the XDG cache /openedx/.cache. Media comes from the PVC
`global.media.existingClaim` when set (subPaths media, media-private, ora2), else from emptyDirs.
*/}}

{{/*
openedx-lib.openedx.name: the object name of a variant's role: "lms", "lms-worker", "cms", ...
Usage: {{ include "openedx-lib.openedx.name" (dict "variant" "lms" "role" "worker") }}
*/}}
{{- define "openedx-lib.openedx.name" -}}
{{- if eq .role "web" }}{{ .variant }}{{ else }}{{ printf "%s-%s" .variant .role }}{{ end -}}
{{- end -}}

{{/*
openedx-lib.openedx.env: the environment of an openedx container. UWSGI_WORKERS only for web pods.
Usage: env: {{- include "openedx-lib.openedx.env" (dict "variant" "lms" "uwsgiWorkers" 2 "extraEnv" .Values.web.extraEnv) | nindent 12 }}
*/}}
{{- define "openedx-lib.openedx.env" -}}
{{- if not (has .variant (list "lms" "cms")) -}}
{{- fail (printf "unknown service variant %q: expected lms or cms" (toString .variant)) -}}
{{- end -}}
- name: SERVICE_VARIANT
  value: {{ .variant | quote }}
- name: DJANGO_SETTINGS_MODULE
  value: {{ printf "%s.envs.tutor.production" .variant | quote }}
{{- if not (kindIs "invalid" .uwsgiWorkers) }}
- name: UWSGI_WORKERS
  value: {{ int .uwsgiWorkers | quote }}
{{- end }}
{{- with .extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
openedx-lib.openedx.mediaClaim: `global.media.existingClaim`, or nothing.
Usage: {{ include "openedx-lib.openedx.mediaClaim" $ }}
*/}}
{{- define "openedx-lib.openedx.mediaClaim" -}}
{{- with .Values.global }}{{ with .media }}{{ .existingClaim }}{{ end }}{{ end -}}
{{- end -}}

{{/*
openedx-lib.openedx.dataVolumes: the writable volumes of an openedx pod.
Usage: {{- include "openedx-lib.openedx.dataVolumes" $ | nindent 8 }}
*/}}
{{- define "openedx-lib.openedx.dataVolumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: cache
  emptyDir: {}
{{- with include "openedx-lib.openedx.mediaClaim" . }}
- name: media
  persistentVolumeClaim:
    claimName: {{ . }}
{{- else }}
- name: media
  emptyDir: {}
- name: media-private
  emptyDir: {}
{{- end }}
{{- end -}}

{{/*
openedx-lib.openedx.dataVolumeMounts: the mounts of the writable volumes, at the paths the settings
use (DATA_DIR and logs under /openedx/data, MEDIA_ROOT /openedx/media, openedx-learning media under
/openedx/media-private, ORA2 uploads under /openedx/data/ora2).
Usage: {{- include "openedx-lib.openedx.dataVolumeMounts" $ | nindent 12 }}
*/}}
{{- define "openedx-lib.openedx.dataVolumeMounts" -}}
- name: data
  mountPath: /openedx/data
- name: tmp
  mountPath: /tmp
- name: cache
  mountPath: /openedx/.cache
{{- if include "openedx-lib.openedx.mediaClaim" . }}
- name: media
  mountPath: /openedx/media
  subPath: media
- name: media
  mountPath: /openedx/media-private
  subPath: media-private
- name: media
  mountPath: /openedx/data/ora2
  subPath: ora2
{{- else }}
- name: media
  mountPath: /openedx/media
- name: media-private
  mountPath: /openedx/media-private
{{- end }}
{{- end -}}

{{/*
openedx-lib.openedx.mediaInitContainer: when the media PVC is used, an init container that creates
its subPath directories as the openedx user (directories the kubelet creates for a missing subPath
belong to root and are not writable by UID 1000).
Usage: {{- include "openedx-lib.openedx.mediaInitContainer" $ | nindent 6 }}
*/}}
{{- define "openedx-lib.openedx.mediaInitContainer" -}}
{{- if include "openedx-lib.openedx.mediaClaim" . -}}
initContainers:
  - name: media-dirs
    {{- include "openedx-lib.images.container" (dict "image" .Values.global.openedxImage "context" .) | nindent 4 }}
    command: ["mkdir", "-p", "/mnt/media/media", "/mnt/media/media-private", "/mnt/media/ora2"]
    resources:
      requests: {cpu: 10m, memory: 32Mi}
      limits: {cpu: 100m, memory: 64Mi}
    securityContext:
      {{- include "openedx-lib.security.container" dict | nindent 6 }}
    volumeMounts:
      - name: media
        mountPath: /mnt/media
{{- end -}}
{{- end -}}

{{/*
openedx-lib.openedx.podSpec: the spec of a pod running the openedx image in a service variant.
  variant     lms | cms
  role        web | worker | init | cron (web adds uwsgi.ini, UWSGI_WORKERS and port 8000)
  name        container name
  values      component values: resources, extraEnv, podSecurityContext, containerSecurityContext,
              nodeSelector, tolerations, affinity, topologySpreadConstraints, priorityClassName,
              terminationGracePeriodSeconds, uwsgiWorkers and preStopSeconds (web)
  args        container args (optional; the image's CMD otherwise)
  probes      {startupProbe|readinessProbe|livenessProbe: {probe, handler}} (optional)
  path        values path named in error messages (optional; defaults to name)
  restartPolicy, extraVolumes, extraVolumeMounts (optional)
Usage: spec: {{- include "openedx-lib.openedx.podSpec" (dict "variant" "lms" "role" "web" "name" "lms" "values" .Values.web "context" $) | nindent 6 }}
*/}}
{{- define "openedx-lib.openedx.podSpec" -}}
{{- $ctx := .context -}}
{{- $v := .values -}}
{{- $web := eq .role "web" -}}
{{- $path := default .name .path -}}
serviceAccountName: {{ default "openedx" $ctx.Values.global.serviceAccountName }}
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
{{- with include "openedx-lib.openedx.mediaInitContainer" $ctx | trim }}
{{ . }}
{{- end }}
containers:
  - name: {{ .name }}
    {{- include "openedx-lib.images.container" (dict "image" $ctx.Values.global.openedxImage "context" $ctx) | nindent 4 }}
    {{- with .args }}
    args:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    env:
      {{- include "openedx-lib.openedx.env" (dict "variant" .variant "uwsgiWorkers" (ternary $v.uwsgiWorkers nil $web) "extraEnv" $v.extraEnv) | nindent 6 }}
    {{- if $web }}
    ports:
      - name: http
        containerPort: 8000
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
      {{- include "openedx-lib.resources.render" (dict "resources" $v.resources "path" (printf "%s.resources" $path)) | nindent 6 }}
    securityContext:
      {{- include "openedx-lib.security.container" (dict "override" $v.containerSecurityContext) | nindent 6 }}
    volumeMounts:
      {{- include "openedx-lib.settings.volumeMounts" (dict "uwsgi" $web) | nindent 6 }}
      {{- include "openedx-lib.openedx.dataVolumeMounts" $ctx | nindent 6 }}
      {{- with .extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  {{- include "openedx-lib.settings.volumes" (dict "uwsgi" $web "context" $ctx) | trim | nindent 2 }}
  {{- include "openedx-lib.openedx.dataVolumes" $ctx | nindent 2 }}
  {{- with .extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
openedx-lib.openedx.workerArgs: the Celery worker args: the worker command of Tutor
(LMS_WORKER_COMMAND / CMS_WORKER_COMMAND, given in values) plus `--concurrency=N`, N being
`concurrency` when set, else the CPU request in whole CPUs (at least 1). Without it Celery forks one
process per node CPU and is OOM-killed under its memory limit.
Usage: args: {{- include "openedx-lib.openedx.workerArgs" (dict "values" .Values.worker "path" "lms.worker") | nindent 12 }}
*/}}
{{- define "openedx-lib.openedx.workerArgs" -}}
{{- $v := .values -}}
{{- range $v.args }}
{{- if hasPrefix "--concurrency" (toString .) }}
{{- fail (printf "%s.args must not set --concurrency: the chart adds it (set %s.concurrency)" $.path $.path) }}
{{- end }}
{{- end }}
{{- $concurrency := 0 -}}
{{- if not (kindIs "invalid" $v.concurrency) -}}
{{- $concurrency = int $v.concurrency -}}
{{- else -}}
{{- $cpu := "" -}}
{{- with $v.resources }}{{ with .requests }}{{ $cpu = .cpu }}{{ end }}{{ end -}}
{{- if not $cpu }}{{ fail (printf "%s.resources.requests.cpu is required to derive the Celery concurrency" .path) }}{{ end -}}
{{- $concurrency = max 1 (div (include "openedx-lib.resources.cpuMillis" $cpu | int64) 1000) -}}
{{- end -}}
{{- toYaml (concat $v.args (list (printf "--concurrency=%d" (int $concurrency)))) -}}
{{- end -}}

{{/*
openedx-lib.openedx.celeryPing: the exec handler of a worker liveness probe: `celery inspect ping`
addressed to this pod's worker node, whose name comes from the `--hostname=` arg (%h is the pod's
host name; Celery prefixes "celery@" when the name has no "@").
Usage: {{ include "openedx-lib.openedx.celeryPing" (dict "variant" "lms" "args" .Values.worker.args) | fromYaml }}
*/}}
{{- define "openedx-lib.openedx.celeryPing" -}}
{{- $node := "%h" -}}
{{- range .args }}{{ if hasPrefix "--hostname=" (toString .) }}{{ $node = trimPrefix "--hostname=" . }}{{ end }}{{ end -}}
{{- $node = replace "%h" "${HOSTNAME}" $node -}}
{{- if not (contains "@" $node) }}{{ $node = printf "celery@%s" $node }}{{ end -}}
exec:
  command:
    - sh
    - -c
    - {{ printf "exec celery --app=%s.celery inspect ping --destination=%s --timeout=10" .variant $node | quote }}
{{- end -}}

{{/*
openedx-lib.openedx.deployment: the Deployment of a variant's web (uwsgi) or Celery worker pods,
from the subchart values `web` or `worker`. Web pods: readiness and startup probes on /heartbeat
with the Host header ALLOWED_HOSTS accepts (the variant's Service name), liveness on TCP 8000 (the
heartbeat checks MySQL and MongoDB: as a liveness probe it would restart every pod during a
database outage). Workers: an optional `celery inspect ping` liveness probe. `values`, `name` and `path`
(in error messages) default to the role's: a queue's own workers give theirs.
Usage: {{ include "openedx-lib.openedx.deployment" (dict "variant" "lms" "role" "web" "context" $) }}
*/}}
{{- define "openedx-lib.openedx.deployment" -}}
{{- $ctx := .context -}}
{{- $web := eq .role "web" -}}
{{- $v := include "openedx-lib.maintenance.scaled" (dict "values" (default (ternary $ctx.Values.web $ctx.Values.worker $web) .values) "context" $ctx) | fromYaml -}}
{{- $name := default (include "openedx-lib.openedx.name" .) .name -}}
{{- $path := default (printf "%s.%s" .variant .role) .path -}}
{{- $args := list -}}
{{- $probes := dict -}}
{{- if $web -}}
{{- $heartbeat := dict "httpGet" (dict "path" "/heartbeat" "port" "http" "httpHeaders" (list (dict "name" "Host" "value" .variant))) -}}
{{- $probes = dict "startupProbe" (dict "probe" $v.startupProbe "handler" $heartbeat) "readinessProbe" (dict "probe" $v.readinessProbe "handler" $heartbeat) "livenessProbe" (dict "probe" $v.livenessProbe "handler" (dict "tcpSocket" (dict "port" "http"))) -}}
{{- else -}}
{{- $args = include "openedx-lib.openedx.workerArgs" (dict "values" $v "path" $path) | fromYamlArray -}}
{{- $probes = dict "livenessProbe" (dict "probe" $v.livenessProbe "handler" (include "openedx-lib.openedx.celeryPing" (dict "variant" .variant "args" $v.args) | fromYaml)) -}}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" $name "component" .role "version" $ctx.Values.global.openedxImage.tag "context" $ctx) | nindent 4 }}
spec:
  {{- with include "openedx-lib.workloads.replicas" $v }}
  {{- . | nindent 2 }}
  {{- end }}
  revisionHistoryLimit: {{ int $ctx.Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "openedx-lib.labels.selector" (dict "name" $name "context" $ctx) | nindent 6 }}
  {{- with $v.updateStrategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      {{- include "openedx-lib.workloads.podMetadata" (dict "name" $name "component" .role "version" $ctx.Values.global.openedxImage.tag "values" $v "context" $ctx) | nindent 6 }}
    spec:
      {{- include "openedx-lib.openedx.podSpec" (dict "variant" .variant "role" .role "name" $name "path" $path "values" $v "args" $args "probes" $probes "context" $ctx) | nindent 6 }}
{{- end -}}

{{/*
openedx-lib.openedx.service: the ClusterIP Service of a variant's web pods, named after the variant
(`lms`, `cms`: the settings and both Caddyfiles call them so) on port 8000.
Usage: {{ include "openedx-lib.openedx.service" (dict "variant" "lms" "context" $) }}
*/}}
{{- define "openedx-lib.openedx.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .variant }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .variant "component" "web" "version" .context.Values.global.openedxImage.tag "context" .context) | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: http
      port: 8000
      targetPort: http
      protocol: TCP
  selector:
    {{- include "openedx-lib.labels.selector" (dict "name" .variant "context" .context) | nindent 4 }}
{{- end -}}

{{/*
openedx-lib.openedx.queueWorkerArgs: a worker command split by queue. With `only`, the command of workers of
that one queue: `--queues=<only>`, `--hostname=<only>.%h` and, when given, `--max-tasks-per-child` (replaced, or added). With
`without`, the command of the other workers: `without` removed from `--queues=`. Fails when the command
consumes no such queue, so that no queue is left without workers.
Usage: {{ include "openedx-lib.openedx.queueWorkerArgs" (dict "args" .Values.worker.args "without" "edx.lms.core.high_mem" "path" "lms.worker.args") | fromYamlArray }}
*/}}
{{- define "openedx-lib.openedx.queueWorkerArgs" -}}
{{- $queue := default .without .only -}}
{{- $queues := list -}}
{{- range .args }}{{ if hasPrefix "--queues=" (toString .) }}{{ $queues = splitList "," (trimPrefix "--queues=" .) }}{{ end }}{{ end -}}
{{- if not (has $queue $queues) -}}
{{- fail (printf "%s: the worker command consumes no queue %q (its --queues= lists %s)" .path $queue (join "," $queues)) -}}
{{- end -}}
{{- if and .without (eq (len $queues) 1) -}}
{{- fail (printf "%s: %q is the only queue of the worker command: no queue would be left for the other workers" .path $queue) -}}
{{- end -}}
{{- $result := list -}}
{{- $seen := dict -}}
{{- range .args -}}
{{- $arg := toString . -}}
{{- if hasPrefix "--queues=" $arg -}}
{{- $arg = printf "--queues=%s" (ternary $.only (without $queues $queue | join ",") (not (empty $.only))) -}}
{{- else if and $.only (hasPrefix "--hostname=" $arg) -}}
{{- $arg = printf "--hostname=%s.%%h" $.only -}}{{- $_ := set $seen "hostname" true -}}
{{- else if and $.only $.maxTasksPerChild (hasPrefix "--max-tasks-per-child=" $arg) -}}
{{- $arg = printf "--max-tasks-per-child=%d" (int $.maxTasksPerChild) -}}{{- $_ := set $seen "maxTasks" true -}}
{{- end -}}
{{- $result = append $result $arg -}}
{{- end -}}
{{- if and $.only (not $seen.hostname) -}}
{{- $result = append $result (printf "--hostname=%s.%%h" $.only) -}}
{{- end -}}
{{- if and $.only $.maxTasksPerChild (not $seen.maxTasks) -}}
{{- $result = append $result (printf "--max-tasks-per-child=%d" (int $.maxTasksPerChild)) -}}
{{- end -}}
{{- toYaml $result -}}
{{- end -}}
