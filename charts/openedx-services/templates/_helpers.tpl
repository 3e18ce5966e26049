{{/*
Helpers of the openedx-services chart: one StatefulSet shape for every data service, its Service,
the credentials Secret, and the Redis memory check.
*/}}

{{/*
openedx-services.secretName: `existingSecret`, required by the services that read credentials.
Usage: {{ include "openedx-services.secretName" $ }}
*/}}
{{- define "openedx-services.secretName" -}}
{{- include "openedx-lib.validate.required" (dict "value" .Values.existingSecret "path" "existingSecret" "reason" "the pre-created Secret with the keys mysql-root-password, mysql-password, mongodb-root-password, mongodb-password, meilisearch-master-key (needed when mysql, mongodb or meilisearch is enabled)") -}}
{{- end -}}

{{/*
openedx-services.credentials: the credentials Secret's `keys` as read-only files under
/run/secrets/openedx (never environment variables, which leak into process listings and crash dumps).
Returns YAML {volume, mount}; the images read the files through their *_FILE variables.
Usage: {{- $credentials := include "openedx-services.credentials" (dict "keys" (list "mysql-password") "context" $) | fromYaml }}
*/}}
{{- define "openedx-services.credentials" -}}
{{- $items := list -}}
{{- range .keys -}}
{{- $items = append $items (dict "key" . "path" .) -}}
{{- end -}}
volume:
  name: credentials
  secret:
    secretName: {{ include "openedx-services.secretName" .context }}
    defaultMode: 0440
    items: {{ toJson $items }}
mount:
  name: credentials
  mountPath: /run/secrets/openedx
  readOnly: true
{{- end -}}

{{/*
openedx-services.statefulset: the StatefulSet of one data service: one replica, non-root, restricted
security context (read-only root filesystem; `data` on its own PVC, /tmp an emptyDir), probes,
resources. Only the selector labels go into volumeClaimTemplates: that part of a StatefulSet is
immutable, so a chart upgrade must not change it. The PVC outlives the Release (retention Retain).
  name, component     object name and app.kubernetes.io/component
  values              the service's values (image, persistence, resources, probes, placement, ...)
  user, group         UID/GID of the image's server process (fsGroup = group)
  port, portName      the container port
  dataPath            where the data volume is mounted
  args, env, workingDir, probes, extraVolumes, extraVolumeMounts   container specifics (optional)
  credentialsSync     (optional) a container `credentials-sync`, of the same image, that runs `script` (bash, with
                      `env` and `mounts`, the pod's /tmp included) once the server runs, then stays: the pod is
                      ready once the script has touched $SYNCED, and the container restarts (runs it again)
                      when that takes more than 15 minutes.
The revision `credentials.revision.<name>` of a service that has one is a pod annotation: a rotation restarts
the pod (which syncs again).
Usage: {{ include "openedx-services.statefulset" (dict "name" "mysql" "component" "database" "values" .Values.mysql "user" 999 "group" 999 "port" 3306 "portName" "mysql" "dataPath" "/var/lib/mysql" "context" $) }}
*/}}
{{- define "openedx-services.statefulset" -}}
{{- $ctx := .context -}}
{{- $v := .values -}}
{{- $annotations := deepCopy (default (dict) $v.podAnnotations) -}}
{{- if hasKey $ctx.Values.credentials.revision .name -}}
{{- $_ := set $annotations "app.openedx.org/credentials-revision" (toString (index $ctx.Values.credentials.revision .name)) -}}
{{- end -}}
{{- if $ctx.Values.evictionProtection -}}
{{- $_ := set $annotations "cluster-autoscaler.kubernetes.io/safe-to-evict" "false" -}}
{{- $_ = set $annotations "karpenter.sh/do-not-disrupt" "true" -}}
{{- end -}}
{{- $pod := set (deepCopy $v) "podAnnotations" $annotations -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "version" $v.image.tag "context" $ctx) | nindent 4 }}
spec:
  serviceName: {{ .name }}
  replicas: 1
  revisionHistoryLimit: {{ int $ctx.Values.revisionHistoryLimit }}
  podManagementPolicy: OrderedReady
  updateStrategy:
    type: RollingUpdate
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: Retain
    whenScaled: Retain
  selector:
    matchLabels:
      {{- include "openedx-lib.labels.selector" (dict "name" .name "context" $ctx) | nindent 6 }}
  template:
    metadata:
      {{- include "openedx-lib.workloads.podMetadata" (dict "name" .name "component" .component "version" $v.image.tag "values" $pod "context" $ctx) | nindent 6 }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with include "openedx-lib.images.pullSecrets" $ctx | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- include "openedx-lib.security.pod" (dict "user" .user "group" .group "override" $v.podSecurityContext) | nindent 8 }}
      {{- with include "openedx-lib.workloads.placement" $v | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          {{- include "openedx-lib.images.container" (dict "image" $v.image "context" $ctx) | nindent 10 }}
          {{- with .args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .workingDir }}
          workingDir: {{ . }}
          {{- end }}
          {{- with concat (default (list) .env) (default (list) $v.extraEnv) }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ int .port }}
              protocol: TCP
          {{- with include "openedx-lib.probes.all" (default (dict) .probes) | trim }}
          {{- . | nindent 10 }}
          {{- end }}
          resources:
            {{- include "openedx-lib.resources.render" (dict "resources" $v.resources "path" (printf "%s.resources" .name)) | nindent 12 }}
          securityContext:
            {{- include "openedx-lib.security.container" (dict "override" $v.containerSecurityContext) | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: {{ .dataPath }}
            - name: tmp
              mountPath: /tmp
            {{- with .extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- with .credentialsSync }}
        {{- $synced := "/tmp/credentials-synced" }}
        {{- $check := dict "exec" (dict "command" (list "cat" $synced)) }}
        - name: credentials-sync
          {{- include "openedx-lib.images.container" (dict "image" $v.image "context" $ctx) | nindent 10 }}
          command: ["bash", "-c", {{ printf "%s\nexec sleep infinity\n" .script | quote }}]
          env:
            {{- toYaml (concat .env (list (dict "name" "CREDENTIALS" "value" "/run/secrets/openedx") (dict "name" "SYNCED" "value" $synced))) | nindent 12 }}
          {{- /* Synced within 15 minutes (a first start initialises the data directory first), else the
          container restarts and tries again; ready (and the pod with it) once synced. */}}
          startupProbe:
            {{- toYaml (merge (dict "periodSeconds" 10 "failureThreshold" 90) $check) | nindent 12 }}
          readinessProbe:
            {{- toYaml (merge (dict "periodSeconds" 10) $check) | nindent 12 }}
          livenessProbe:
            {{- toYaml (merge (dict "periodSeconds" 30) $check) | nindent 12 }}
          resources:
            {{- include "openedx-lib.resources.render" (dict "resources" $ctx.Values.credentials.sync.resources "path" "credentials.sync.resources") | nindent 12 }}
          securityContext:
            {{- include "openedx-lib.security.container" (dict "override" $v.containerSecurityContext) | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- toYaml .mounts | nindent 12 }}
        {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if not $v.persistence.enabled }}
        - name: data
          emptyDir: {}
        {{- end }}
        {{- with .extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  {{- if $v.persistence.enabled }}
  volumeClaimTemplates:
    - apiVersion: v1
      kind: PersistentVolumeClaim
      metadata:
        name: data
        labels:
          {{- include "openedx-lib.labels.selector" (dict "name" .name "context" $ctx) | nindent 10 }}
      spec:
        accessModes: ["ReadWriteOnce"]
        {{- with include "openedx-lib.storage.class" (dict "storageClass" $v.persistence.storageClass "context" $ctx) }}
        {{- . | nindent 8 }}
        {{- end }}
        resources:
          requests:
            storage: {{ include "openedx-services.claimSize" (dict "name" .name "values" $v "context" $ctx) | quote }}
  {{- end }}
{{- end -}}

{{/*
openedx-services.claimSize: the storage of a data service's volumeClaimTemplate. That template is immutable:
once the StatefulSet exists, its size stays what it was. With `persistence.expand`, the volume itself
(`data-<name>-0`) is to be grown to `persistence.size` (the Pulumi program patches the claim): this checks that
against the cluster first: a volume never shrinks, and grows only where its StorageClass has
allowVolumeExpansion. Without a cluster (`helm template`) it is `persistence.size`.
Usage: {{ include "openedx-services.claimSize" (dict "name" "mysql" "values" .Values.mysql "context" $) }}
*/}}
{{- define "openedx-services.claimSize" -}}
{{- $size := .values.persistence.size -}}
{{- $namespace := .context.Release.Namespace -}}
{{- $kept := $size -}}
{{- with lookup "apps/v1" "StatefulSet" $namespace .name -}}
{{- range .spec.volumeClaimTemplates }}{{ if eq .metadata.name "data" }}{{ $kept = .spec.resources.requests.storage }}{{ end }}{{ end -}}
{{- end -}}
{{- $claimName := printf "data-%s-0" .name -}}
{{- if .values.persistence.expand -}}
{{- with lookup "v1" "PersistentVolumeClaim" $namespace $claimName -}}
{{- $current := .spec.resources.requests.storage -}}
{{- $want := include "openedx-lib.resources.memoryBytes" $size | int64 -}}
{{- $have := include "openedx-lib.resources.memoryBytes" $current | int64 -}}
{{- if lt $want $have -}}
{{- fail (printf "%s.persistence.size (%s) is below the size of its volume %s (%s): a volume cannot shrink" $.name $size $claimName $current) -}}
{{- end -}}
{{- if gt $want $have -}}
{{- $class := lookup "storage.k8s.io/v1" "StorageClass" "" (toString .spec.storageClassName) -}}
{{- if not (and $class $class.allowVolumeExpansion) -}}
{{- fail (printf "%s.persistence.size (%s) is above the size of its volume %s (%s), and its StorageClass %q does not allow volume expansion (allowVolumeExpansion): keep %s, or move the data to a volume of a class that does" $.name $size $claimName $current (toString .spec.storageClassName) $current) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $kept -}}
{{- end -}}

{{/*
openedx-services.service: the ClusterIP Service of a data service, under the name the settings use.
Usage: {{ include "openedx-services.service" (dict "name" "mysql" "component" "database" "port" 3306 "portName" "mysql" "values" .Values.mysql "context" $) }}
*/}}
{{- define "openedx-services.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "openedx-lib.labels.standard" (dict "name" .name "component" .component "version" .values.image.tag "context" .context) | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: {{ .portName }}
      port: {{ int .port }}
      targetPort: {{ .portName }}
      protocol: TCP
  selector:
    {{- include "openedx-lib.labels.selector" (dict "name" .name "context" .context) | nindent 4 }}
{{- end -}}

{{/*
openedx-services.redis.maxmemoryBytes: redis.maxmemory ("384mb", "1gb", "500000k", bytes) in bytes;
units as in redis.conf (k=1000, kb=1024, m=1000000, mb=1048576, g, gb).
Usage: {{ include "openedx-services.redis.maxmemoryBytes" .Values.redis.maxmemory | int64 }}
*/}}
{{- define "openedx-services.redis.maxmemoryBytes" -}}
{{- $q := lower (toString .) -}}
{{- if not (regexMatch "^[0-9]+(k|kb|m|mb|g|gb)?$" $q) -}}
{{- fail (printf "redis.maxmemory %q is not a redis memory size (e.g. 384mb)" (toString .)) -}}
{{- end -}}
{{- $number := regexFind "^[0-9]+" $q -}}
{{- $factors := dict "" 1 "k" 1000 "kb" 1024 "m" 1000000 "mb" 1048576 "g" 1000000000 "gb" 1073741824 -}}
{{- mul (int64 $number) (get $factors (trimPrefix $number $q)) -}}
{{- end -}}

{{/*
openedx-services.mongodb.validate: mongodb.authSource must be "admin" or one of mongodb.databases.
Usage: {{ include "openedx-services.mongodb.validate" $ }}
*/}}
{{- define "openedx-services.mongodb.validate" -}}
{{- $v := .Values.mongodb -}}
{{- if not $v.databases -}}
{{- fail "mongodb.databases must list at least one database" -}}
{{- end -}}
{{- if not (or (eq $v.authSource "admin") (has $v.authSource $v.databases)) -}}
{{- fail (printf "mongodb.authSource %q must be \"admin\" or one of mongodb.databases" $v.authSource) -}}
{{- end -}}
{{- end -}}
