{{/*
openedx.backups.steps: the steps of a backup Job kind, in order, as a YAML list of
{name, image (mysql|mongodb|rclone|openedx), args, media (ro|rw, when the media volume is mounted)}.
Each runs one of the scripts of files/backups/ (mounted at /backups-tools); the last is the pod's
container, the others its init containers, one after the other, sharing the work volume /work.
  backup   dump MySQL (the instance's database and its plugins', MYSQL_EXTRA_DATABASES of the backup
           Secret: a part each), MongoDB (and media), write the manifest, upload it last, apply retention
  verify   fetch the newest backup, check it, restore it into scratch servers, compare the counts
  restore  fetch BACKUP_NAME (default: the newest), check it (or adopt a Tutor operator's dumps when
           TUTOR_DUMPS is true), restore MySQL, MongoDB (and media) into the instance's own
  list     list the storage, print the backups
Usage: {{ include "openedx.backups.steps" (dict "kind" "backup" "context" $) | fromYamlArray }}
*/}}
{{- define "openedx.backups.steps" -}}
{{- $v := .context.Values.backups -}}
{{- $media := include "openedx-lib.openedx.mediaClaim" .context -}}
{{- $py := list "python" "/backups-tools/backup.py" -}}
{{- /* What a manifest records of the instance, for the backups it writes or adopts. */ -}}
{{- $described := list "--instance" .context.Values.global.instance "--openedx-version" (toString .context.Values.global.openedxImage.tag) "--tutor-version" (toString $v.tutorVersion) -}}
{{- $steps := list -}}
{{- if eq .kind "backup" -}}
{{- $steps = list
  (dict "name" "mysql-dump" "image" "mysql" "args" (list "bash" "/backups-tools/mysql.sh" "dump"))
  (dict "name" "mongodb-dump" "image" "mongodb" "args" (list "bash" "/backups-tools/mongodb.sh" "dump")) -}}
{{- if $media }}{{ $steps = append $steps (dict "name" "media-dump" "image" "openedx" "media" "ro" "args" (list "sh" "/backups-tools/media.sh" "dump")) }}{{ end -}}
{{- $steps = concat $steps (list
  (dict "name" "manifest" "image" "openedx" "args" (concat $py (list "manifest" "/work/parts" "--name-file" "/work/name" "--mongodb-report" "/work/reports/mongodb.log") $described))
  (dict "name" "upload" "image" "rclone" "args" (list "sh" "/backups-tools/storage.sh" "upload"))
  (dict "name" "retention" "image" "openedx" "args" (concat $py (list "prune" "/work/listing.json" "--keep" (toString (int $v.retention.count)) "--max-age-days" (toString (int $v.retention.maxAgeDays)) "--out" "/work/prune.txt")))
  (dict "name" "prune" "image" "rclone" "args" (list "sh" "/backups-tools/storage.sh" "prune"))) -}}
{{- else if eq .kind "verify" -}}
{{- $steps = list
  (dict "name" "fetch" "image" "rclone" "args" (list "sh" "/backups-tools/storage.sh" "fetch"))
  (dict "name" "check" "image" "openedx" "args" (concat $py (list "check" "/work/backup")))
  (dict "name" "mysql-verify" "image" "mysql" "args" (list "bash" "/backups-tools/mysql.sh" "verify"))
  (dict "name" "mongodb-verify" "image" "mongodb" "args" (list "bash" "/backups-tools/mongodb.sh" "verify"))
  (dict "name" "compare" "image" "openedx" "args" (concat $py (list "compare" "/work/backup" "/work/counts"))) -}}
{{- else if eq .kind "restore" -}}
{{- $steps = list
  (dict "name" "fetch" "image" "rclone" "args" (list "sh" "/backups-tools/storage.sh" "fetch"))
  (dict "name" "check" "image" "openedx" "args" (concat $py (list "check" "/work/backup" "--name-file" "/work/name") $described))
  (dict "name" "mysql-restore" "image" "mysql" "args" (list "bash" "/backups-tools/mysql.sh" "restore"))
  (dict "name" "mongodb-restore" "image" "mongodb" "args" (list "bash" "/backups-tools/mongodb.sh" "restore")) -}}
{{- if $media }}{{ $steps = append $steps (dict "name" "media-restore" "image" "openedx" "media" "rw" "args" (list "sh" "/backups-tools/media.sh" "restore")) }}{{ end -}}
{{- else if eq .kind "list" -}}
{{- $steps = list
  (dict "name" "list" "image" "rclone" "args" (list "sh" "/backups-tools/storage.sh" "list"))
  (dict "name" "table" "image" "openedx" "args" (concat $py (list "list" "/work/listing.json"))) -}}
{{- else -}}
{{- fail (printf "unknown backup Job kind %s" .kind) -}}
{{- end -}}
{{- toYaml $steps -}}
{{- end -}}

{{/*
openedx.backups.container: one step's container.
Usage: {{- include "openedx.backups.container" (dict "step" $step "env" $env "context" $) | nindent 4 }}
*/}}
{{- define "openedx.backups.container" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values.backups -}}
{{- $image := $ctx.Values.global.openedxImage -}}
{{- if ne .step.image "openedx" }}{{ $image = get $v.images .step.image }}{{ end -}}
- name: {{ .step.name }}
  {{- include "openedx-lib.images.container" (dict "image" $image "context" $ctx) | nindent 2 }}
  args:
    {{- toYaml .step.args | nindent 4 }}
  env:
    {{- toYaml .env | nindent 4 }}
  envFrom:
    - secretRef:
        name: {{ $v.secretName }}
  resources:
    {{- include "openedx-lib.resources.render" (dict "resources" $v.resources "path" "backups.resources") | nindent 4 }}
  securityContext:
    {{- include "openedx-lib.security.container" dict | nindent 4 }}
  volumeMounts:
    - name: work
      mountPath: /work
    - name: tools
      mountPath: /backups-tools
      readOnly: true
    {{- if $v.storage.existingClaim }}
    - name: backups
      mountPath: /backups
    {{- end }}
    {{- if .step.media }}
    - name: media
      mountPath: /media
      readOnly: {{ eq .step.media "ro" }}
    {{- end }}
    # The Secret's files too: the CA bundles of managed servers (MYSQL_CA_FILE, MONGODB_CA_FILE name them).
    - name: secret
      mountPath: /run/secrets/backup
      readOnly: true
{{- end -}}

{{/*
openedx.backups.jobSpec: the spec of a backup Job of `kind` (see openedx.backups.steps), restricted
profile, the instance's ServiceAccount (its workload identity reaches the storage), `env` added to
every step (BACKUP_KIND, BACKUP_NAME, TUTOR_DUMPS...). rclone has no config file (RCLONE_CONFIG
empty): its remote `backups` is the RCLONE_CONFIG_BACKUPS_* variables.
Usage: spec: {{- include "openedx.backups.jobSpec" (dict "kind" "backup" "env" (list) "context" $) | nindent 2 }}
*/}}
{{- define "openedx.backups.jobSpec" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values.backups -}}
{{- if not $v.storage.root }}{{ fail "backups.storage.root is required when backups.enabled" }}{{ end -}}
{{- $steps := include "openedx.backups.steps" (dict "kind" .kind "context" $ctx) | fromYamlArray -}}
{{- $env := list (dict "name" "WORK" "value" "/work") (dict "name" "BACKUP" "value" "/work/backup") (dict "name" "COUNTS" "value" "/work/counts") (dict "name" "HOME" "value" "/work") (dict "name" "TMPDIR" "value" "/work") (dict "name" "MEDIA" "value" "/media") (dict "name" "BACKUP_ROOT" "value" $v.storage.root) (dict "name" "RCLONE_CONFIG" "value" "") -}}
{{- range $key := keys $v.storage.rclone | sortAlpha }}
{{- $env = append $env (dict "name" (printf "RCLONE_CONFIG_BACKUPS_%s" (upper $key)) "value" (toString (get $v.storage.rclone $key))) -}}
{{- end -}}
{{- $env = concat $env .env -}}
backoffLimit: 0
activeDeadlineSeconds: {{ int $v.activeDeadlineSeconds }}
template:
  metadata:
    {{- include "openedx-lib.workloads.podMetadata" (dict "name" (printf "openedx-%s" .name) "component" "backup" "version" $ctx.Values.global.openedxImage.tag "values" $v "context" $ctx) | nindent 4 }}
  spec:
    serviceAccountName: {{ default "openedx" $ctx.Values.global.serviceAccountName }}
    automountServiceAccountToken: false
    enableServiceLinks: false
    restartPolicy: Never
    {{- with include "openedx-lib.images.pullSecrets" $ctx | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    securityContext:
      {{- include "openedx-lib.security.pod" (dict "user" 1000 "group" 1000) | nindent 6 }}
    {{- with include "openedx-lib.workloads.placement" $v | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    initContainers:
      {{- range $step := initial $steps }}
      {{- include "openedx.backups.container" (dict "step" $step "env" $env "context" $ctx) | nindent 6 }}
      {{- end }}
    containers:
      {{- include "openedx.backups.container" (dict "step" (last $steps) "env" $env "context" $ctx) | nindent 6 }}
    volumes:
      - name: work
        emptyDir:
          sizeLimit: {{ $v.workSizeLimit }}
      - name: tools
        configMap:
          name: openedx-backup-tools
          defaultMode: 0444
      - name: secret
        secret:
          secretName: {{ $v.secretName }}
          defaultMode: 0440
      {{- with $v.storage.existingClaim }}
      - name: backups
        persistentVolumeClaim:
          claimName: {{ . }}
      {{- end }}
      {{- with include "openedx-lib.openedx.mediaClaim" $ctx }}
      - name: media
        persistentVolumeClaim:
          claimName: {{ . }}
      {{- end }}
{{- end -}}
