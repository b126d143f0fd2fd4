"""Shared building blocks for the components: labels, security contexts, volumes, checksums,
and the object shapes every component declares the same way (Service, ConfigMap, StatefulSet).

Manifests are written as camelCase dicts, spelled exactly as the Kubernetes API does (pulumi
passes them through unchanged); the unit tests validate every object against the Kubernetes
schemas in strict mode, which catches what typed Args classes would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s

PART_OF = "observability-stack"

# A manifest fragment as the Kubernetes API spells it. Typed as Any because pulumi_kubernetes'
# TypedDicts use snake_case keys while the provider takes the API's camelCase.
Manifest = Any

R = TypeVar("R", bound=pulumi.CustomResource)


def create(cls: Callable[..., R], resource_name: str, **fields: Any) -> R:
    """Declare a Kubernetes object from fields spelled as the Kubernetes API spells them.

    pulumi_kubernetes' type hints are snake_case TypedDicts while the provider takes the API's
    camelCase (what the manifests here use); passing the fields through Any keeps mypy useful
    for everything else, and the unit tests validate every object against the real schemas.
    """
    return cls(resource_name, **fields)


@dataclass(frozen=True)
class Context:
    """What every component needs besides its own settings."""

    namespace: str
    instance: str  # app.kubernetes.io/instance: the namespace doubles as the instance name
    storage_class: str | None


def labels(ctx: Context, name: str, component: str, version: str = "") -> dict[str, str]:
    """Kubernetes recommended labels (app.kubernetes.io/*)."""
    out = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": ctx.instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }
    if version:
        out["app.kubernetes.io/version"] = version
    return out


def selector(ctx: Context, name: str) -> dict[str, str]:
    """The immutable subset of labels used in selectors (never include the version)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": ctx.instance}


def image_version(image: str) -> str:
    """The tag of an image reference, as a label value ("v2.53.2")."""
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"


def metadata(ctx: Context, name: str, lbls: Mapping[str, str], **extra: Any) -> Manifest:
    return {"name": name, "namespace": ctx.namespace, "labels": dict(lbls), **extra}


def pod_security_context(uid: int, fs_group: int | None = None) -> Manifest:
    """Pod-level: non-root with a fixed numeric user, RuntimeDefault seccomp.

    fsGroup makes PVCs writable by the user (volume ownership is set on mount).
    """
    ctx: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if fs_group is not None:
        ctx["fsGroup"] = fs_group
        ctx["fsGroupChangePolicy"] = "OnRootMismatch"
    return ctx


def restricted_pod_spec(
    uid: int,
    container: Manifest,
    volumes: list[Manifest],
    *,
    service_account: str | None = None,
    api_token: bool = False,
    fs_group: bool = True,
) -> Manifest:
    """A one-container pod spec running as `uid` (pod_security_context).

    No API token is mounted unless `api_token` (only Prometheus talks to Kubernetes, for
    discovery); `fs_group` makes the volumes writable by `uid` (off where nothing is persisted).
    """
    spec: dict[str, Any] = {}
    if service_account is not None:
        spec["serviceAccountName"] = service_account
    if not api_token:
        spec["automountServiceAccountToken"] = False
    spec["securityContext"] = pod_security_context(uid, fs_group=uid if fs_group else None)
    spec["containers"] = [container]
    spec["volumes"] = volumes
    return spec


def container_security_context() -> Manifest:
    """Container-level: what Pod Security "restricted" asks for, plus a read-only root fs."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def empty_dir(name: str, size_limit: str = "64Mi") -> Manifest:
    return {"name": name, "emptyDir": {"sizeLimit": size_limit}}


def tmp_mount() -> Manifest:
    """/tmp on the "tmp" emptyDir: every root filesystem here is read-only."""
    return {"name": "tmp", "mountPath": "/tmp"}


def read_only_mount(volume: str, path: str) -> Manifest:
    return {"name": volume, "mountPath": path, "readOnly": True}


def config_map_volume(volume: str, config_map: str) -> Manifest:
    return {"name": volume, "configMap": {"name": config_map}}


def secret_key_env(var: str, secret: str, key: str) -> Manifest:
    """An env var read from one key of a Secret (the value never appears in the pod spec)."""
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def http_service_port(port: int) -> Manifest:
    """The "http" Service port, forwarded to the container port of the same name."""
    return {"name": "http", "port": port, "targetPort": "http"}


def pvc_template(ctx: Context, name: str, size: str, lbls: Mapping[str, str]) -> Manifest:
    """A volumeClaimTemplate (StatefulSets) or PVC spec body."""
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if ctx.storage_class:
        spec["storageClassName"] = ctx.storage_class
    return {"metadata": {"name": name, "labels": dict(lbls)}, "spec": spec}


def pod_template(
    lbls: Mapping[str, str], spec: Manifest, annotations: Mapping[str, Any] | None = None
) -> Manifest:
    """A workload's pod template; annotations (config checksums) only when there are some."""
    template_metadata: dict[str, Any] = {"labels": lbls}
    if annotations is not None:
        template_metadata["annotations"] = dict(annotations)
    return {"metadata": template_metadata, "spec": spec}


def create_service(
    resource_name: str,
    ctx: Context,
    name: str,
    lbls: Mapping[str, str],
    ports: list[Manifest],
    opts: pulumi.ResourceOptions,
    *,
    selects: str | None = None,
    headless: bool = False,
    **spec: Any,
) -> k8s.core.v1.Service:
    """A Service selecting the pods of `selects` (default: `name`).

    `headless` gives it no cluster IP (StatefulSet pod DNS names); `spec` holds extra fields
    spelled as the API spells them (publishNotReadyAddresses=True).
    """
    body: dict[str, Any] = {"clusterIP": "None"} if headless else {}
    body.update(spec)
    body["selector"] = selector(ctx, selects or name)
    body["ports"] = ports
    return create(
        k8s.core.v1.Service, resource_name, metadata=metadata(ctx, name, lbls), spec=body, opts=opts
    )


def create_config_map(
    resource_name: str,
    ctx: Context,
    name: str,
    lbls: Mapping[str, str],
    data: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ConfigMap:
    return create(
        k8s.core.v1.ConfigMap,
        resource_name,
        metadata=metadata(ctx, name, lbls),
        data=data,
        opts=opts,
    )


def create_stateful_set(
    resource_name: str,
    ctx: Context,
    name: str,
    lbls: Mapping[str, str],
    *,
    service_name: str,
    replicas: int,
    template: Manifest,
    storage_size: str,
    opts: pulumi.ResourceOptions,
    **spec: Any,
) -> k8s.apps.v1.StatefulSet:
    """A StatefulSet named and selecting `name`, with one "data" PVC per pod.

    `spec` holds extra fields spelled as the API spells them (podManagementPolicy="Parallel").
    """
    return create(
        k8s.apps.v1.StatefulSet,
        resource_name,
        metadata=metadata(ctx, name, lbls),
        spec={
            "serviceName": service_name,
            "replicas": replicas,
            **spec,
            "selector": {"matchLabels": selector(ctx, name)},
            "template": template,
            "volumeClaimTemplates": [pvc_template(ctx, "data", storage_size, lbls)],
        },
        opts=opts,
    )


def create_deployment(
    resource_name: str,
    ctx: Context,
    name: str,
    lbls: Mapping[str, str],
    *,
    replicas: int,
    template: Manifest,
    opts: pulumi.ResourceOptions,
    **spec: Any,
) -> k8s.apps.v1.Deployment:
    """A Deployment named and selecting `name`.

    `spec` holds extra fields spelled as the API spells them (strategy={"type": "Recreate"}).
    """
    return create(
        k8s.apps.v1.Deployment,
        resource_name,
        metadata=metadata(ctx, name, lbls),
        spec={
            "replicas": replicas,
            "selector": {"matchLabels": selector(ctx, name)},
            **spec,
            "template": template,
        },
        opts=opts,
    )


def checksum(*parts: str | Mapping[str, str]) -> str:
    """sha256 over config texts: a pod annotation that changes when any config changes."""
    digest = hashlib.sha256()
    for part in parts:
        items = sorted(part.items()) if isinstance(part, Mapping) else [("", part)]
        for key, value in items:
            digest.update(key.encode() + b"\0" + value.encode() + b"\0")
    return digest.hexdigest()


def http_probe(
    path: str, port: str, period: int = 10, failures: int = 3, delay: int = 0
) -> Manifest:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def child_opts(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)
