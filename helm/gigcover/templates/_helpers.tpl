{{/* The settings of one component: `default`, overridden by its own entry. */}}
{{- define "gigcover.settings" -}}
{{- $c := index .root.Values.components .name -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.default) (deepCopy $c)) -}}
{{- end -}}

{{- define "gigcover.labels" -}}
app.kubernetes.io/name: gigcover
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
app.kubernetes.io/version: {{ .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "gigcover.selector" -}}
app.kubernetes.io/name: gigcover
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "gigcover.image" -}}
{{ .Values.image.repository }}:{{ required "image.tag is required (the release's git tag)" .Values.image.tag }}
{{- end -}}

{{/* Environment every gigcover container gets. */}}
{{- define "gigcover.env" -}}
- name: GIGCOVER_ENVIRONMENT
  value: {{ .root.Values.environment | quote }}
- name: GIGCOVER_HTTP__HOST
  value: "0.0.0.0"
- name: GIGCOVER_HTTP__SHUTDOWN_TIMEOUT_SECS
  value: {{ .settings.drainSeconds | quote }}
- name: GIGCOVER_DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.database.secretName }}
      key: DATABASE_URL
- name: GIGCOVER_AUTH__JWKS_URL
  value: "http://{{ .root.Release.Name }}-identity:{{ .root.Values.components.identity.port }}/.well-known/jwks.json"
{{- range $var, $key := dict "GIGCOVER_SERVICE_AUTH__CLIENT_ID" "SERVICE_AUTH_CLIENT_ID" "GIGCOVER_SERVICE_AUTH__CLIENT_SECRET" "SERVICE_AUTH_CLIENT_SECRET" "GIGCOVER_CRYPTO__MASTER_KEY" "CRYPTO_MASTER_KEY" }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $.root.Values.secrets.name }}
      key: {{ $key }}
      optional: {{ ne $.root.Values.environment "prod" }}
{{- end }}
{{- range $svc, $c := .root.Values.components }}
- name: GIGCOVER_SERVICES__{{ upper $svc }}__URL
  value: "http://{{ $.root.Release.Name }}-{{ $svc }}:{{ $c.port }}"
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: "http://{{ .root.Release.Name }}-otel-collector:4317"
- name: OTEL_TRACES_SAMPLER
  value: {{ .root.Values.otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .root.Values.otel.samplerArg | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "deployment.environment={{ .root.Values.environment }},service.version={{ .root.Values.image.tag }}"
{{- range $k, $v := .settings.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* The container security context every container gets. */}}
{{- define "gigcover.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
