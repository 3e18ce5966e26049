{{/*
Images. Every image is given as {registry, repository, tag, pullPolicy}; `global.imageRegistry`
replaces every registry (a mirror, or a private registry holding Tutor-built images) and
`global.imagePullSecrets` is added to every pod.
*/}}

{{/*
openedx-lib.images.image: the image reference "<registry>/<repository>:<tag>" (no registry part when
both the image's registry and global.imageRegistry are empty).
Usage: {{ include "openedx-lib.images.image" (dict "image" .Values.image "context" $) }}
*/}}
{{- define "openedx-lib.images.image" -}}
{{- $registry := .image.registry -}}
{{- with .context.Values.global }}{{ with .imageRegistry }}{{ $registry = . }}{{ end }}{{ end -}}
{{- if not .image.repository -}}
{{- fail "an image has an empty repository" -}}
{{- end -}}
{{- if not .image.tag -}}
{{- fail (printf "image %s has an empty tag: pin a version" .image.repository) -}}
{{- end -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository (toString .image.tag) -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (toString .image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
openedx-lib.images.container: the `image` and `imagePullPolicy` fields of a container.
Usage: {{- include "openedx-lib.images.container" (dict "image" .Values.image "context" $) | nindent 10 }}
*/}}
{{- define "openedx-lib.images.container" -}}
image: {{ include "openedx-lib.images.image" . | quote }}
imagePullPolicy: {{ default "IfNotPresent" .image.pullPolicy }}
{{- end -}}

{{/*
openedx-lib.images.pullSecrets: the pod's `imagePullSecrets` field from global.imagePullSecrets
(names, or {name: ...} maps); renders nothing when the list is empty.
Usage: {{- include "openedx-lib.images.pullSecrets" $ | nindent 6 }}
*/}}
{{- define "openedx-lib.images.pullSecrets" -}}
{{- $secrets := list -}}
{{- with .Values.global }}
{{- range (default (list) .imagePullSecrets) }}
{{- if kindIs "map" . }}
{{- $secrets = append $secrets (dict "name" .name) }}
{{- else }}
{{- $secrets = append $secrets (dict "name" (toString .)) }}
{{- end }}
{{- end }}
{{- end }}
{{- with $secrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
