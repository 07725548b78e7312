{#- Pieces shared by every pod of the platform. Each macro prints one JSON
    value, which is valid YAML wherever a value may stand. -#}

{#- SPEC §3: non-root, read-only root filesystem, no capabilities, no
    privilege escalation, seccomp RuntimeDefault. On every container. -#}
{% macro container_security() -%}
{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "privileged": false, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
{%- endmacro %}

{% macro pod_security(uid) -%}
{"runAsNonRoot": true, "runAsUser": {{ uid }}, "runAsGroup": {{ uid }}, "fsGroup": {{ uid }}, "seccompProfile": {"type": "RuntimeDefault"}}
{%- endmacro %}

{#- The name of the Secret the app reads: the rendered one, or an existing
    one when secrets.existingSecret is set. -#}
{% macro secret_name() -%}
{{ values.secrets.existingSecret or name("secret") }}
{%- endmacro %}

{#- The application's whole environment: every ConfigMap and Secret key,
    plus the pod's identity from the downward API. -#}
{% macro app_env_from() -%}
[{"configMapRef": {"name": {{ name("config") }}}}, {"secretRef": {"name": {{ secret_name() }}}}]
{%- endmacro %}

{% macro downward_env() -%}
[{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]
{%- endmacro %}

{#- Preferred (never required) spreading of a component's replicas over
    nodes: required anti-affinity would need as many nodes as the HPA max. -#}
{% macro anti_affinity(component) -%}
{"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {{ selector(component) }}}}}]}}
{%- endmacro %}

{% macro pull_secrets() -%}
[{% for s in values.images.pullSecrets %}{"name": {{ s }}}{% if not loop.last %}, {% endif %}{% endfor %}]
{%- endmacro %}

{#- The replica count a component runs with: the HPA minimum when an HPA
    manages it. -#}
{% macro min_replicas(c) -%}
{{ c.autoscaling.minReplicas if c.autoscaling.enabled else c.replicas }}
{%- endmacro %}

{#- An autoscaling/v2 HPA on CPU utilisation for a Deployment. -#}
{% macro hpa(component, c) %}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ name(component) }}
  namespace: {{ release.namespace }}
  labels: {{ labels(component) }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ name(component) }}
  minReplicas: {{ c.autoscaling.minReplicas }}
  maxReplicas: {{ c.autoscaling.maxReplicas }}
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: {{ c.autoscaling.targetCPUUtilizationPercentage }}
{% endmacro %}

{#- A disruption budget, only where at least two replicas run. -#}
{% macro pdb(component, c) %}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ name(component) }}
  namespace: {{ release.namespace }}
  labels: {{ labels(component) }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{ selector(component) }}
{% endmacro %}
