"""The Kubernetes test server: kmock's emulator over real HTTP on 127.0.0.1, in a thread of its own.

The drivers run the official (synchronous) client against it unchanged. Tests seed and read objects
with plain HTTP (``requests``), never through our own code, and play the kubelet's part where the
emulator has none: a pod's log and status. kmock ignores label selectors (we filter client-side), has
no PUT (we patch) and no uid/resourceVersion (we use neither). Other test modules import the harness.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import kmock
import pytest
import requests
from kubernetes import client as k8s
from urllib3 import BaseHTTPResponse

from bot.faults.cluster import Cluster

NAMESPACE = "chaos-lab"
OTHER_NAMESPACE = "payments"
BASES = {
    "pods": "/api/v1",
    "secrets": "/api/v1",
    "serviceaccounts": "/api/v1",
    "deployments": "/apis/apps/v1",
    "networkpolicies": "/apis/networking.k8s.io/v1",
    "podchaos": "/apis/chaos-mesh.org/v1alpha1",
    "networkchaos": "/apis/chaos-mesh.org/v1alpha1",
    "dnschaos": "/apis/chaos-mesh.org/v1alpha1",
}
KINDS = {
    "pods": "Pod",
    "secrets": "Secret",
    "serviceaccounts": "ServiceAccount",
    "deployments": "Deployment",
    "networkpolicies": "NetworkPolicy",
    "podchaos": "PodChaos",
    "networkchaos": "NetworkChaos",
    "dnschaos": "DNSChaos",
}
SEEDER = "sce-tests/seeder"


def rbac_verb(method: str, name: str | None, params: dict[str, str]) -> str:
    """The RBAC verb the API server would authorize an HTTP request as."""
    if method == "GET":
        return "watch" if params.get("watch") in ("true", "1") else ("get" if name else "list")
    named = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}
    if method == "DELETE" and not name:
        return "deletecollection"
    return named[method]


class KubeTestServer:
    """Start with ``with KubeTestServer() as kube:``; the emulator knows every resource the bot uses."""

    def __init__(self, resources: tuple[str, ...] = tuple(BASES)) -> None:
        self.resources = resources
        self.logs: dict[tuple[str, str], str] = {}
        # what SelfSubjectAccessReviews answer: (verb, group, resource, namespace) refused; all else allowed
        self.denied: set[tuple[str, str, str, str]] = set()
        self.reviews: list[dict[str, Any]] = []  # each review's spec.resourceAttributes, as asked
        # pod logs followed (``follow=true``): lines the test pushes over time (``push_log``) reach every
        # open stream of that pod; ``end_logs`` ends them. ``log_status`` answers every log GET instead.
        self.log_status: int | None = None
        self._follows: dict[tuple[str, str], list[asyncio.Queue[bytes | None]]] = {}
        self._follows_lock = threading.Lock()
        self.follows_opened = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.emulator: kmock.KubernetesEmulator | None = None
        self.url = ""

    async def _serve(self) -> None:
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            for plural in self.resources:
                group_version = BASES[plural].split("/", 2)[2]
                emulator.resources[f"{group_version}/{plural}"] = kmock.ResourceInfo(
                    namespaced=True, kind=KINDS[plural]
                )
            emulator["get", kmock.resource("v1/pods"), kmock.subresource("log")] << self._log
            (
                emulator["post", kmock.resource("authorization.k8s.io/v1/selfsubjectaccessreviews")]
                << self._review
            )
            self.emulator, self.url = emulator, str(server.url).rstrip("/")
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def _log(self, request: kmock.Request) -> Any:
        """The kubelet's part: a container that has not started yet has no log (HTTP 400); ``follow=true``
        streams the log, then each line pushed, until ``end_logs`` or the client goes."""
        if self.log_status is not None:
            raise kmock.KubernetesError(
                status=self.log_status, reason="Forbidden", message="pods/log refused"
            )
        if request.params.get("follow") == "true":
            return self._follow(request)
        text = self.logs.get((request.namespace or "", request.name or ""))
        if text is None:
            raise kmock.KubernetesError(
                status=400, reason="BadRequest", message="container is waiting to start"
            )
        return text.encode()

    async def _follow(self, request: kmock.Request) -> AsyncIterator[bytes]:
        """A follow stream: the headers at once (as a kubelet sends them), the log so far (or its last
        ``tailLines``), then every pushed line as it comes."""
        key = (request.namespace or "", request.name or "")
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        with self._follows_lock:  # the log so far and the stream of later lines, with no line in both
            self._follows.setdefault(key, []).append(queue)
            self.follows_opened += 1
            lines = self.logs.get(key, "").splitlines(keepends=True)
        try:
            yield b""  # the response starts now, before any line
            tail = request.params.get("tailLines")
            for line in lines[len(lines) - int(tail) :] if tail is not None else lines:
                yield line.encode()
            while (item := await queue.get()) is not None:
                yield item
        finally:
            with self._follows_lock:
                self._follows[key].remove(queue)

    def push_log(self, namespace: str, pod: str, *lines: str) -> None:
        """Lines the pod writes now: kept in its log and sent to every stream following it."""
        data = "".join(f"{line}\n" for line in lines)
        with self._follows_lock:
            self.logs[(namespace, pod)] = self.logs.get((namespace, pod), "") + data
            self._to_follows(namespace, pod, data.encode())

    def end_logs(self, namespace: str, pod: str) -> None:
        """The pod's streams end (its container stopped)."""
        with self._follows_lock:
            self._to_follows(namespace, pod, None)

    def open_follows(self, namespace: str | None = None) -> int:
        """Follow streams the server still serves (one ends once the client has gone and a line is pushed)."""
        with self._follows_lock:
            return sum(len(queues) for (ns, _), queues in self._follows.items() if namespace in (None, ns))

    def _to_follows(self, namespace: str, pod: str, item: bytes | None) -> None:
        """Called with the follows' lock held."""
        assert self._loop is not None
        for queue in self._follows.get((namespace, pod), []):
            self._loop.call_soon_threadsafe(queue.put_nowait, item)

    def _review(self, request: kmock.Request) -> dict[str, Any]:
        """The authorizer's part: a SelfSubjectAccessReview answered from ``denied``, in the API's shape."""
        body = request.data if isinstance(request.data, dict) else {}
        asked = dict((body.get("spec") or {}).get("resourceAttributes") or {})
        self.reviews.append(asked)
        if self.emulator is not None:  # a review is a question, not an object: the API server keeps none
            stored: Any = (request.resource, None, None)  # kmock's key of an object without a name
            if stored in self.emulator.objects:
                del self.emulator.objects[stored]
        attributes = (
            str(asked.get("verb", "")),
            str(asked.get("group", "")),
            str(asked.get("resource", "")),
            str(asked.get("namespace", "")),
        )
        allowed = attributes not in self.denied
        status: dict[str, Any] = {"allowed": allowed}
        if not allowed:
            status["reason"] = "no RBAC policy matched"
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": body.get("spec"),
            "status": status,
        }

    def __enter__(self) -> KubeTestServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Kubernetes test server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        with self._follows_lock:  # open follow streams end first, so the server stops at once
            ends = [(ns, pod) for (ns, pod), queues in self._follows.items() if queues]
        for namespace, pod in ends:
            self.end_logs(namespace, pod)
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    # -- what the bot uses ---------------------------------------------------------------------
    def cluster(self, allowed: frozenset[str] = frozenset({NAMESPACE})) -> Cluster:
        return Cluster(k8s.ApiClient(k8s.Configuration(host=self.url)), allowed, sleep=lambda seconds: None)

    # -- seeding and reading, over plain HTTP --------------------------------------------------
    def path(self, plural: str, namespace: str, name: str | None = None, sub: str | None = None) -> str:
        tail = "/".join(part for part in (name, sub) if part)
        return f"{self.url}{BASES[plural]}/namespaces/{namespace}/{plural}" + (f"/{tail}" if tail else "")

    def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "metadata": {**body.get("metadata", {}), "namespace": namespace}}
        response = requests.post(self.path(plural, namespace), json=body, headers={"User-Agent": SEEDER})
        response.raise_for_status()
        return dict(response.json())

    def patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> None:
        response = requests.patch(
            self.path(plural, namespace, name),
            json=body,
            headers={"User-Agent": SEEDER, "Content-Type": "application/merge-patch+json"},
        )
        response.raise_for_status()

    def read(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        response = requests.get(self.path(plural, namespace, name), headers={"User-Agent": SEEDER})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def names(self, plural: str, namespace: str) -> list[str]:
        response = requests.get(self.path(plural, namespace), headers={"User-Agent": SEEDER})
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(item["metadata"]["name"] for item in response.json()["items"])

    def pod(self, name: str, labels: dict[str, str], namespace: str = NAMESPACE) -> None:
        container = {"name": "app", "image": "registry.example/app:1"}
        self.create(
            "pods",
            namespace,
            {"metadata": {"name": name, "labels": labels}, "spec": {"containers": [container]}},
        )

    # -- what the bot sent ---------------------------------------------------------------------
    def bot_requests(self) -> list[kmock.Request]:
        """Requests from the bot (User-Agent ``sce/...``), not from the test's own seeding."""
        assert self.emulator is not None
        return [r for r in list(self.emulator) if str(r.headers.get("User-Agent", "")).startswith("sce/")]

    def calls(self) -> set[tuple[str, str, str]]:
        """(API group, resource[/subresource], RBAC verb) of every request the bot made."""
        seen: set[tuple[str, str, str]] = set()
        for request in self.bot_requests():
            assert request.resource is not None, request.url
            resource = cast(str, request.resource.plural) + (
                f"/{request.subresource}" if request.subresource else ""
            )
            verb = rbac_verb(str(request.method.value), request.name, dict(request.params))
            seen.add((request.resource.group or "", resource, verb))
        return seen


@pytest.fixture
def kube() -> Iterator[KubeTestServer]:
    with KubeTestServer() as server:
        yield server


def test_the_official_client_creates_lists_patches_and_deletes_on_the_test_server(
    kube: KubeTestServer,
) -> None:
    """The harness itself: enough of the Kubernetes API for the drivers, reached by the real client."""
    core = k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=kube.url)))
    kube.pod("web-1", {"app": "web"})
    listed = core.list_namespaced_pod(NAMESPACE)
    assert [cast(k8s.V1ObjectMeta, p.metadata).name for p in listed.items] == ["web-1"]
    core.patch_namespaced_pod("web-1", NAMESPACE, {"metadata": {"labels": {"tier": "front"}}})
    assert (kube.read("pods", NAMESPACE, "web-1") or {})["metadata"]["labels"] == {
        "app": "web",
        "tier": "front",
    }
    core.delete_namespaced_pod("web-1", NAMESPACE)
    assert kube.names("pods", NAMESPACE) == []
    with pytest.raises(k8s.ApiException) as missing:
        core.delete_namespaced_pod("web-1", NAMESPACE)
    assert missing.value.status == 404


def test_a_pod_log_is_what_the_test_wrote_as_the_kubelet(kube: KubeTestServer) -> None:
    core = k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=kube.url)))
    kube.pod("probe", {})
    with pytest.raises(k8s.ApiException) as waiting:
        core.read_namespaced_pod_log("probe", NAMESPACE, _preload_content=False)
    assert waiting.value.status == 400
    kube.logs[(NAMESPACE, "probe")] = "hello\n"
    log = core.read_namespaced_pod_log("probe", NAMESPACE, _preload_content=False)
    assert cast(BaseHTTPResponse, log).data == b"hello\n"  # unread, as _preload_content=False asks
