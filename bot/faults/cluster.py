"""The bot's connection to one Kubernetes API server, through the official client, in plain JSON.

Every call goes through :class:`KubeApi`: raw JSON in and out (``_preload_content=False``) so manifests
stay the dicts that ``plan`` shows, a 404 on delete counts as done, a 409 on create as already there,
transient failures are retried, and label selectors are applied on our side as well (some servers,
and the test server, ignore them).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import urllib3

from bot.faults.labels import matches, selector_text
from bot.gameday.ports import FaultRejected
from bot.gameday.scenario.model import SYSTEM_NAMESPACES

if TYPE_CHECKING:  # the client is imported when a cluster is configured: a process without one starts faster
    from kubernetes import client as k8s

T = TypeVar("T")
TRANSIENT = frozenset({429, 500, 502, 503, 504})


def _agent_version() -> str:
    try:
        return version("sce")
    except PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class ResourceKind:
    api_version: str
    kind: str
    plural: str
    singular: str = ""  # snake_case name in the typed client's methods; empty for custom resources

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


POD = ResourceKind("v1", "Pod", "pods", "pod")
SECRET = ResourceKind("v1", "Secret", "secrets", "secret")
SERVICE_ACCOUNT = ResourceKind("v1", "ServiceAccount", "serviceaccounts", "service_account")
DEPLOYMENT = ResourceKind("apps/v1", "Deployment", "deployments", "deployment")
NETWORK_POLICY = ResourceKind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", "network_policy")


def describe(kind: ResourceKind, namespace: str, name: str) -> str:
    return f"{kind.kind} {namespace}/{name}"


def _answered(exc: BaseException) -> bool:
    """Whether ``exc`` is the client's ApiException (an answer from the API server). Nothing can be one
    while the client is not imported yet, so the check imports nothing."""
    module = sys.modules.get("kubernetes.client.exceptions")
    return module is not None and isinstance(exc, module.ApiException)


def api_status(exc: BaseException) -> int | None:
    """The API server's HTTP status for a failed call; None when it did not answer."""
    return getattr(exc, "status", None) if _answered(exc) else None


def api_error(exc: Exception) -> str:
    """A short reason for a failed call, for sentences people read."""
    if _answered(exc):
        return f"{getattr(exc, 'status', '')} {getattr(exc, 'reason', '') or ''}".strip()
    return type(exc).__name__


def _is_transient(exc: Exception) -> bool:
    if _answered(exc):
        status = api_status(exc)
        return status in TRANSIENT or not status
    return isinstance(exc, urllib3.exceptions.HTTPError | OSError)


class KubeApi:
    """Typed-client calls on behalf of one game day (its User-Agent), with JSON bodies."""

    def __init__(
        self, api_client: k8s.ApiClient, attempts: int = 3, sleep: Callable[[float], None] = time.sleep
    ):
        from kubernetes import client as k8s

        self.attempts = attempts
        self.sleep = sleep
        self._core = k8s.CoreV1Api(api_client)
        self._typed: dict[str, Any] = {
            "": self._core,
            "apps": k8s.AppsV1Api(api_client),
            "networking.k8s.io": k8s.NetworkingV1Api(api_client),
        }
        self._custom = k8s.CustomObjectsApi(api_client)

    def _retrying(self, call: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except Exception as exc:
                if attempt == self.attempts or not _is_transient(exc):
                    raise
                self.sleep(0.5 * attempt)
        raise AssertionError("unreachable")

    def _json(self, call: Callable[[], Any]) -> Any:
        response = self._retrying(lambda: call())
        raw = response.data
        return json.loads(raw) if raw else {}

    def _typed_call(self, verb: str, kind: ResourceKind, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self._typed[kind.group], f"{verb}_namespaced_{kind.singular}")
        return self._json(lambda: method(*args, _preload_content=False, **kwargs))

    def _custom_call(self, verb: str, kind: ResourceKind, namespace: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self._custom, f"{verb}_namespaced_custom_object")
        return self._json(
            lambda: method(
                kind.group, kind.version, namespace, kind.plural, *args, _preload_content=False, **kwargs
            )
        )

    def list(self, kind: ResourceKind, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        """Objects of ``kind`` in ``namespace`` with every label of ``selector``; [] for an unknown kind."""
        query = {"label_selector": selector_text(selector)} if selector else {}
        try:
            if kind.singular:
                found = self._typed_call("list", kind, namespace, **query)
            else:
                found = self._custom_call("list", kind, namespace, **query)
        except Exception as exc:
            if api_status(exc) == 404:  # the resource is not served here (e.g. Chaos Mesh not installed)
                return []
            raise
        return [item for item in found.get("items") or [] if matches(item, selector)]

    def get(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            if kind.singular:
                found: dict[str, Any] = self._typed_call("read", kind, name, namespace)
            else:
                found = self._custom_call("get", kind, namespace, name)
        except Exception as exc:
            if api_status(exc) == 404:
                return None
            raise
        return found

    def create(self, kind: ResourceKind, namespace: str, body: dict[str, Any]) -> bool:
        """Create ``body``; False when an object of that name exists already (a replayed apply)."""
        try:
            if kind.singular:
                self._typed_call("create", kind, namespace, body)
            else:
                self._custom_call("create", kind, namespace, body)
        except Exception as exc:
            if api_status(exc) == 409:
                return False
            raise
        return True

    def patch(self, kind: ResourceKind, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind.singular:
            patched: dict[str, Any] = self._typed_call("patch", kind, name, namespace, body)
        else:
            patched = self._custom_call("patch", kind, namespace, name, body)
        return patched

    def delete(self, kind: ResourceKind, namespace: str, name: str) -> bool:
        """Delete; False when it was already gone, which is success too."""
        try:
            if kind.singular:
                self._typed_call("delete", kind, name, namespace)
            else:
                self._custom_call("delete", kind, namespace, name)
        except Exception as exc:
            if api_status(exc) == 404:
                return False
            raise
        return True

    def pod_log(self, namespace: str, name: str, container: str) -> str | None:
        """The container's log, or None while the pod or its log does not exist (yet)."""
        core = self._core
        try:
            response: Any = self._retrying(
                lambda: core.read_namespaced_pod_log(
                    name, namespace, container=container, _preload_content=False
                )
            )
        except Exception as exc:
            if api_status(exc) in (400, 404):  # 400: the container has not started
                return None
            raise
        return bytes(response.data or b"").decode("utf-8", "replace")

    def follow_pod_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        read_timeout: float = 300.0,
    ) -> Any:
        """A pod's log as the kubelet writes it (``follow=true``): the open urllib3 response, read as
        lines arrive; the caller closes it (``shutdown`` ends a read blocked in another thread). Not
        retried: a stream that fails is said by its reader. A pod quiet for ``read_timeout`` ends the
        read (the client takes no unbounded timeout): the reader opens the stream again."""
        options: dict[str, Any] = {
            "container": container,
            "tail_lines": tail_lines,
            "since_seconds": since_seconds,
        }
        return self._core.read_namespaced_pod_log(
            name,
            namespace,
            follow=True,
            _preload_content=False,
            _request_timeout=(10, read_timeout),
            **{key: value for key, value in options.items() if value is not None},
        )


class Cluster:
    """Where faults may run: an API server plus the deployment's namespace allow-list."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        allowed_namespaces: Iterable[str],
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.configuration = api_client.configuration
        self.allowed_namespaces = frozenset(allowed_namespaces) - SYSTEM_NAMESPACES
        self.sleep = sleep
        self._clients: OrderedDict[str, k8s.ApiClient] = OrderedDict()
        self._clients_lock = threading.Lock()  # reverts of one game day's faults run side by side
        self._base = api_client

    @classmethod
    def from_environment(
        cls, allowed_namespaces: Iterable[str], env: dict[str, str] | None = None
    ) -> Cluster | None:
        """The in-cluster service account, else ``$KUBECONFIG`` / ``~/.kube/config``; None when neither."""
        env = dict(os.environ) if env is None else env
        in_cluster = bool(env.get("KUBERNETES_SERVICE_HOST"))
        path = None
        if not in_cluster:
            paths = [p for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p]
            path = next((p for p in paths if Path(p).exists()), None)
            default = Path.home() / ".kube" / "config"
            if path is None and not paths and default.exists():
                path = str(default)
            if path is None:
                return None
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        configuration = k8s.Configuration()
        if in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            k8s_config.load_kube_config(
                config_file=path, client_configuration=configuration, persist_config=False
            )
        return cls(k8s.ApiClient(configuration), allowed_namespaces)

    def api(self, gameday_id: str | None) -> KubeApi:
        """Calls whose User-Agent names the game day (or the reaper), so audit logs tell who did what."""
        from kubernetes import client as k8s

        agent = f"sce/{_agent_version()} ({f'game day {gameday_id}' if gameday_id else 'reaper'})"
        with self._clients_lock:
            api_client = self._clients.get(agent)
            if api_client is None:
                api_client = k8s.ApiClient(self.configuration)
                api_client.default_headers.update(
                    {k: v for k, v in self._base.default_headers.items() if k != "User-Agent"}
                )
                api_client.user_agent = agent
                self._clients[agent] = api_client
                while len(self._clients) > 16:
                    self._clients.popitem(last=False)[1].close()
        return KubeApi(api_client, sleep=self.sleep)

    def check_namespace(self, namespace: str | None, fault_type: str) -> str:
        """``namespace`` when this deployment allows faults there; else FaultRejected, before any call."""
        if not namespace:
            raise FaultRejected(f"fault {fault_type} names no namespace; add `namespace:` to the step")
        if namespace not in self.allowed_namespaces:
            raise FaultRejected(
                f"namespace {namespace} is not in SCE_ALLOWED_NAMESPACES for this deployment "
                "(system namespaces never are)"
            )
        return namespace


def planned_call(verb: str, kind: ResourceKind, namespace: str, **fields: Any) -> dict[str, Any]:
    """One entry of a driver's plan: the API call, and for creates and patches the body it sends."""
    return {"verb": verb, "apiVersion": kind.api_version, "kind": kind.kind, "namespace": namespace, **fields}
