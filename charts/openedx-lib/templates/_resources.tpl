{{/*
Resources. Every container has requests and limits (an HPA needs requests; a ResourceQuota needs
both). These helpers render them and turn Kubernetes quantities into numbers for derived settings
(Celery concurrency from the CPU request, Redis maxmemory against the memory limit).
*/}}

{{/*
openedx-lib.resources.render: the `resources` map of a container; fails when requests or limits are
missing, so that no container runs unbounded.
Usage: resources: {{- include "openedx-lib.resources.render" (dict "resources" .Values.resources "path" "lms.web.resources") | nindent 12 }}
*/}}
{{- define "openedx-lib.resources.render" -}}
{{- $resources := default (dict) .resources -}}
{{- range $field := list "requests" "limits" }}
{{- $set := get $resources $field -}}
{{- if or (not $set) (not (get $set "cpu")) (not (get $set "memory")) -}}
{{- fail (printf "%s.%s must set cpu and memory" $.path $field) -}}
{{- end -}}
{{- end -}}
{{- toYaml $resources -}}
{{- end -}}

{{/*
openedx-lib.resources.cpuMillis: a CPU quantity ("500m", "1", "1.5", 2) in millicores, as a string.
Usage: {{ include "openedx-lib.resources.cpuMillis" "500m" | int }}
*/}}
{{- define "openedx-lib.resources.cpuMillis" -}}
{{- $q := toString . -}}
{{- if hasSuffix "m" $q -}}
{{- $n := trimSuffix "m" $q -}}
{{- if not (regexMatch "^[0-9]+$" $n) }}{{ fail (printf "invalid CPU quantity %q" $q) }}{{ end -}}
{{- int64 $n -}}
{{- else -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?$" $q) }}{{ fail (printf "invalid CPU quantity %q" $q) }}{{ end -}}
{{- mulf (float64 $q) 1000 | floor | int64 -}}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.resources.memoryBytes: a memory quantity ("800Mi", "3Gi", "512M", "1000000") in bytes,
as a string. Binary (Ki, Mi, Gi, Ti) and decimal (k, M, G, T) suffixes are understood.
Usage: {{ include "openedx-lib.resources.memoryBytes" "512Mi" | int64 }}
*/}}
{{- define "openedx-lib.resources.memoryBytes" -}}
{{- $q := toString . -}}
{{- $parts := regexFindAll "^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$" $q 1 -}}
{{- if not $parts }}{{ fail (printf "invalid memory quantity %q" $q) }}{{ end -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $q -}}
{{- $suffix := trimPrefix $number $q -}}
{{- $factors := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 -}}
{{- mulf (float64 $number) (get $factors $suffix) | floor | int64 -}}
{{- end -}}
