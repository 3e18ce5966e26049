{{/*
edxapp.workers: the variant's Celery worker Deployments, as a YAML list of {name, path, values}: the
workers of every queue (`<variant>-worker`) and, when `highMemWorker.enabled`, the workers of the
high-memory queue alone (`<variant>-worker-high-mem`), which the others then no longer consume. The
high-memory workers' values are the workers' with `highMemWorker`'s fields laid over them.
Usage: {{- range include "edxapp.workers" $ | fromYamlArray }}...{{ end }}
*/}}
{{- define "edxapp.workers" -}}
{{- $workers := list -}}
{{- if .Values.worker.enabled -}}
{{- $main := deepCopy .Values.worker -}}
{{- $high := .Values.highMemWorker -}}
{{- if $high.enabled -}}
{{- if not $high.queue }}{{ fail (printf "%s.highMemWorker.queue is required when highMemWorker.enabled" .Chart.Name) }}{{ end -}}
{{- $args := include "openedx-lib.openedx.queueWorkerArgs" (dict "args" $main.args "without" $high.queue "path" (printf "%s.worker.args" .Chart.Name)) | fromYamlArray -}}
{{- $_ := set $main "args" $args -}}
{{- $overrides := omit $high "enabled" "queue" "maxTasksPerChild" -}}
{{- if not $overrides.priorityClassName }}{{ $overrides = omit $overrides "priorityClassName" }}{{ end -}}
{{- $own := mergeOverwrite (deepCopy .Values.worker) $overrides -}}
{{- $ownArgs := include "openedx-lib.openedx.queueWorkerArgs" (dict "args" .Values.worker.args "only" $high.queue "maxTasksPerChild" $high.maxTasksPerChild "path" (printf "%s.worker.args" .Chart.Name)) | fromYamlArray -}}
{{- $_ = set $own "args" $ownArgs -}}
{{- $workers = append $workers (dict "name" (printf "%s-worker-high-mem" .Chart.Name) "path" (printf "%s.highMemWorker" .Chart.Name) "values" $own) -}}
{{- end -}}
{{- $workers = prepend $workers (dict "name" (printf "%s-worker" .Chart.Name) "path" (printf "%s.worker" .Chart.Name) "values" $main) -}}
{{- end -}}
{{- toYaml $workers -}}
{{- end -}}
