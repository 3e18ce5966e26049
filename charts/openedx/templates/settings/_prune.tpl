{{/*
openedx.settingsPrune.due: "true" when the settings pruner runs in this install or upgrade: when the Release
deploys a settings Secret the last successful one did not (an install, new settings: global.settingsSecret differs
from the one the ConfigMap openedx-init recorded), and on the first upgrade that brings the pruner (its ConfigMap is
not there yet) for the Secrets earlier versions left. Not on an upgrade of replicas, resources or maintenance: the
settings Secrets the Release history drops then are deleted at the next settings change.
Usage: {{ if include "openedx.settingsPrune.due" $ }}...{{ end }}
*/}}
{{- define "openedx.settingsPrune.due" -}}
{{- if .Values.settingsPrune.enabled -}}
{{- $recorded := "" -}}
{{- with lookup "v1" "ConfigMap" .Release.Namespace "openedx-init" }}{{ $recorded = get (default (dict) .data) "settingsSecret" }}{{ end -}}
{{- $installed := lookup "v1" "ConfigMap" .Release.Namespace "openedx-settings-prune" -}}
{{- if or (not $installed) (ne $recorded (include "openedx-lib.settings.secretName" .)) }}true{{ end -}}
{{- end -}}
{{- end -}}
