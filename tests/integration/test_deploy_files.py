"""The deployment files (issue 6) hold the properties the sealed agent network depends on.
Docker and Kubernetes are not on the test machines, so the files are read (yaml_subset, the
standard library only) and checked for what matters: agents sit on a network with no way out
but sluice, with the proxy variables pointing at it and sluice as their only resolver (issue
13: compose `dns:`, a pod's `dnsPolicy: None`); sluice runs unprivileged with a read-only,
valid policy; the health checks ask the admin endpoints; the Kubernetes NetworkPolicy lets
agents reach sluice's proxy port and DNS ports and nothing else, DNS to no one but sluice; the
systemd unit is sandboxed and reloads with SIGHUP. The policies themselves pass `sluice check`,
those of docs/deploy.md's proxy-variable-free set-up too, and the health-check commands are run
against a stand-in admin listener."""

import fnmatch
import glob
import http.server
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import threading

import pytest

import yaml_subset
from sluice_proc import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
PROXY_URL = "http://sluice:3128"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
NO_PROXY_VARS = ("NO_PROXY", "no_proxy")
CONFIG_PATH = "/etc/sluice/sluice.yaml"
ADMIN_PORT = 9090


def load(*parts):
    return yaml_subset.load(os.path.join(DEPLOY, *parts))


# ---- sluice check on a policy -------------------------------------------------------------

def without_admin(text):
    """The policy without its listen.admin line, for the checks that hold without it."""
    return re.sub(r"(?m)^[ \t]*admin:.*\n", "", text)


def sluice_check(sluice_bin, text, tmp_path, name="sluice.yaml"):
    """`sluice check` on a policy text, with every secret it names provided (as
    test_config.py does for the examples)."""
    env = dict(os.environ)
    for var in re.findall(r"(?:token_env:|\{env:)\s*([A-Za-z_][A-Za-z0-9_]*)", text):
        env[var] = "deploy-secret"
    for i, secret in enumerate(sorted(set(
            re.findall(r"(?:token_file:|\{file:)\s*(/[^\s},]+)", text)))):
        stand_in = tmp_path / ("secret%d" % i)
        stand_in.write_text("deploy-secret\n")
        text = text.replace(secret, str(stand_in))
    path = tmp_path / name
    path.write_text(text)
    return subprocess.run([sluice_bin, "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=10, env=env)


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


# ---- the health-check commands, run against a stand-in admin listener ---------------------

class AdminStub:
    """Answers every GET with `status`, recording the paths asked for."""

    def __init__(self, status):
        stub = self
        self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.paths.append(self.path)
                self.send_response(status)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.HTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def run_probe(argv, port):
    """Runs a health-check command (exec form) with the admin port replaced by `port`."""
    assert argv[:2] == ["bash", "-c"], argv
    script = argv[2].replace("/dev/tcp/127.0.0.1/%d" % ADMIN_PORT, "/dev/tcp/127.0.0.1/%d" % port)
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10)


def assert_probe_behaves(argv, path):
    """Healthy on 200 from `path`; unhealthy on 503 and with nothing listening."""
    ok = AdminStub(200)
    try:
        r = run_probe(argv, ok.port)
        assert r.returncode == 0, r.stderr
        assert ok.paths == [path]
    finally:
        ok.stop()
    bad = AdminStub(503)
    try:
        assert run_probe(argv, bad.port).returncode != 0
    finally:
        bad.stop()
    assert run_probe(argv, free_port()).returncode != 0


# ---- Compose ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose():
    return load("compose.yaml")


def networks_of(service):
    nets = service.get("networks")
    if isinstance(nets, dict):
        return sorted(nets)
    return sorted(nets or [])


def environment_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def compose_interpolate(text):
    """What Compose makes of a string before the container sees it, with no variables set:
    $$ is a literal $, and $NAME or ${NAME...} is replaced (by nothing here)."""
    return re.sub(r"\$\$|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*",
                  lambda m: "$" if m.group() == "$$" else "", text)


def agent_services(compose):
    """Every service on the agents network except sluice: the agents."""
    return {name: svc for name, svc in compose["services"].items()
            if name != "sluice" and "agents" in networks_of(svc)}


def test_compose_agents_network_is_internal(compose):
    nets = compose["networks"]
    assert nets["agents"]["internal"] is True
    assert not (nets["egress"] or {}).get("internal", False)


def test_compose_agent_is_only_on_the_agents_network(compose):
    agents = agent_services(compose)
    assert "agent" in agents
    for name, svc in agents.items():
        assert networks_of(svc) == ["agents"], name
        assert "network_mode" not in svc, name
        assert "ports" not in svc, name
        assert "extra_hosts" not in svc, name


def test_compose_agent_proxy_variables_point_at_sluice(compose):
    for name, svc in agent_services(compose).items():
        env = environment_of(svc)
        for var in PROXY_VARS:
            assert env.get(var) == PROXY_URL, (name, var)
        for var in NO_PROXY_VARS:
            assert env.get(var) == "", (name, var)


def test_compose_sluice_is_on_both_networks(compose):
    assert networks_of(compose["services"]["sluice"]) == ["agents", "egress"]


def test_compose_sluice_config_is_mounted_read_only(compose):
    sluice = compose["services"]["sluice"]
    mounts = [v.split(":") for v in sluice["volumes"]]
    config = [m for m in mounts if m[1] == CONFIG_PATH]
    assert len(config) == 1, mounts
    source, _, mode = config[0]
    assert mode == "ro"
    assert os.path.isfile(os.path.normpath(os.path.join(DEPLOY, source)))
    assert sluice["command"] == ["-c", CONFIG_PATH]


def test_compose_sluice_runs_unprivileged(compose):
    sluice = compose["services"]["sluice"]
    assert sluice["cap_drop"] == ["ALL"]
    assert "cap_add" not in sluice
    assert sluice["read_only"] is True
    assert "no-new-privileges:true" in sluice["security_opt"]
    assert not sluice.get("privileged", False)
    assert "user" not in sluice  # the image's uid 10001
    # Port 53 without a capability: the container's own network namespace lets an
    # unprivileged process bind from 53 up. Nothing else is set there.
    assert sluice["sysctls"] == {"net.ipv4.ip_unprivileged_port_start": 53}


def sluice_agents_address(compose):
    return compose["services"]["sluice"]["networks"]["agents"]["ipv4_address"]


def test_compose_agents_resolve_only_through_sluice(compose):
    """sluice has a fixed address on `agents`, outside the range Docker hands out, and listens
    for DNS there (not on `egress`); every agent names it as its resolver."""
    address = sluice_agents_address(compose)
    [ipam] = compose["networks"]["agents"]["ipam"]["config"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(ipam["subnet"])
    assert ipaddress.ip_address(address) not in ipaddress.ip_network(ipam["ip_range"])
    assert ipaddress.ip_network(ipam["ip_range"]).subnet_of(ipaddress.ip_network(ipam["subnet"]))
    assert load("sluice.yaml")["listen"]["dns"] == "%s:53" % address
    agents = agent_services(compose)
    assert agents
    for name, svc in agents.items():
        assert svc["dns"] == [address], name
        assert "dns_opt" not in svc and "dns_search" not in svc, name


def test_compose_sluice_healthcheck_asks_readyz(compose):
    test = compose["services"]["sluice"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert "/dev/tcp/127.0.0.1/%d" % ADMIN_PORT in test[3]
    assert_probe_behaves([compose_interpolate(a) for a in test[1:]], "/readyz")


def test_compose_searxng_is_only_on_egress_with_json_enabled(compose):
    searxng = compose["services"]["searxng"]
    assert searxng["image"].split(":")[0] == "searxng/searxng"
    assert networks_of(searxng) == ["egress"]
    assert "ports" not in searxng
    mounts = [v.split(":") for v in searxng["volumes"]]
    assert ["./searxng/settings.yml", "/etc/searxng/settings.yml", "ro"] in mounts
    settings = load("searxng", "settings.yml")
    assert settings["use_default_settings"] is True
    assert "json" in settings["search"]["formats"]
    assert settings["server"]["limiter"] is False
    # The secret comes from the environment, never from the file.
    assert "secret_key" not in settings["server"]
    assert environment_of(searxng)["SEARXNG_SECRET"].startswith("${SEARXNG_SECRET")


def test_compose_sluice_policy_matches_the_topology(compose):
    """The agents network's fixed subnet is an agent's source in deploy/sluice.yaml, sluice
    listens on the port the proxy variables name, and search.internal goes to the searxng
    service for that agent."""
    policy = load("sluice.yaml")
    assert policy["listen"]["http"] in ("0.0.0.0:3128", ["0.0.0.0:3128"])
    # DNS answers by the same agents: a query's source is the agent's address.
    assert "dns" not in policy or policy["dns"].get("answer", "real") == "real"
    subnets = [c["subnet"] for c in compose["networks"]["agents"]["ipam"]["config"]]
    matched = [a["name"] for a in policy["agents"]
               if set(subnets) & set(a.get("match", {}).get("source", []))]
    assert matched, (subnets, policy["agents"])
    routes = {r["host"]: r for r in policy["routes"]}
    search = routes["search.internal"]
    assert search["upstream"] == "http://searxng:8080"
    assert "searxng" in compose["services"]
    assert set(matched) & set(search["agents"])
    # Agents outside the subnet reach nothing.
    default = [a for a in policy["agents"] if a["name"] == "default"]
    assert default and default[0]["allow"] == []


def test_compose_sluice_admin_is_on_loopback():
    """The admin listener answers the healthcheck inside the container; agents share the
    agents network with sluice and must not read /metrics."""
    assert load("sluice.yaml")["listen"]["admin"] == "127.0.0.1:%d" % ADMIN_PORT


def test_compose_sluice_policy_passes_check_without_admin(sluice_bin, tmp_path):
    r = sluice_check(sluice_bin, without_admin(read("deploy", "sluice.yaml")), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_compose_sluice_policy_passes_check(sluice_bin, tmp_path):
    """The file as mounted, listen.admin included."""
    r = sluice_check(sluice_bin, read("deploy", "sluice.yaml"), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- Compose v2 and pinned images (issue 10 item 7) --------------------------------------

def image_pin(ref):
    """What pins an image reference: "digest", "tag", or None (no tag, or `latest`). A
    registry's port (`registry:5000/app`) is not a tag: only the last path segment has one."""
    if "@sha256:" in ref:
        return "digest" if re.fullmatch(r".+@sha256:[0-9a-f]{64}", ref) else None
    tag = ref.rsplit("/", 1)[-1].partition(":")[2]
    return "tag" if tag and tag != "latest" else None


def images_in(node, path=""):
    """(path, reference) of every `image:` value, at any depth, and every kustomize `images:`
    entry (name plus newTag or digest)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = "%s.%s" % (path, key) if path else key
            if key == "image" and isinstance(value, str):
                yield where, value
            elif key == "images" and isinstance(value, list) and \
                    all(isinstance(v, dict) and "name" in v for v in value):
                for i, v in enumerate(value):
                    ref = v.get("newName", v["name"])
                    if "digest" in v:
                        ref += "@" + str(v["digest"])
                    elif "newTag" in v:
                        ref += ":" + str(v["newTag"])
                    yield "%s[%d]" % (where, i), ref
            else:
                yield from images_in(value, where)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from images_in(value, "%s[%d]" % (path, i))


@pytest.mark.parametrize("ref, pin", [
    ("curlimages/curl:8.11.1", "tag"), ("searxng/searxng:2026.1.11-cf74e1d9e", "tag"),
    ("sluice:0.1.0", "tag"), ("registry:5000/app:1.2", "tag"), ("a/b@sha256:" + "0" * 64, "digest"),
    ("a/b:1.0@sha256:" + "f" * 64, "digest"), ("curlimages/curl:latest", None),
    ("searxng/searxng", None), ("registry:5000/app", None), ("a/b@sha256:abc", None),
])
def test_image_pin_reads_references(ref, pin):
    assert image_pin(ref) == pin


def test_deploy_images_are_pinned():
    """Every image the deployment files run has a version tag other than `latest`, or a
    digest: `up` on another day must not run other software. (Fails while compose.yaml names
    searxng/searxng:latest and curlimages/curl:latest.)"""
    paths = sorted(glob.glob(os.path.join(DEPLOY, "**", "*.yaml"), recursive=True) +
                   glob.glob(os.path.join(DEPLOY, "**", "*.yml"), recursive=True))
    found, loose = [], []
    for path in paths:
        for where, ref in images_in(yaml_subset.load(path)):
            found.append(ref)
            if image_pin(ref) is None:
                loose.append("%s: %s: %s" % (os.path.relpath(path, ROOT), where, ref))
    for instr, args in ((i, a) for stage in dockerfile_stages() for i, a in stage):
        if instr == "FROM":
            ref = args.split()[0]
            found.append(ref)
            if image_pin(ref) is None:
                loose.append("Dockerfile: FROM %s" % ref)
    assert {"sluice:0.1.0", "curlimages/curl", "searxng/searxng"} <= \
        {r if r.startswith("sluice") else r.split(":")[0] for r in found}, found
    assert not loose, "images not pinned by version or digest:\n" + "\n".join(loose)


def test_docs_say_compose_v2_is_needed():
    """Compose v1 refuses the top-level `name:` of deploy/compose.yaml; every place that gives
    the compose command says v2 is needed. (Fails before the docs said so.)"""
    assert "name" in load("compose.yaml")
    assert re.search(r"Docker Compose v2 is required", read("docs", "deploy.md"))
    assert re.search(r"refuses[^.]*top-level `name:`", read("docs", "deploy.md"))
    readme = read("README.md")
    at = readme.index("docker compose -f deploy/compose.yaml up -d")
    assert "Compose v2" in readme[at:at + 200], readme[at:at + 200]
    assert re.search(r"(?m)^# Needs Docker Compose v2", read("deploy", "compose.yaml"))


def docker_compose_v2():
    """The `docker` client with a Compose v2 plugin, or a skip that says what is missing.
    `docker compose version` failing (no plugin: "unknown command") means no Compose v2."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on PATH: cannot run `docker compose config`")
    try:
        r = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                           timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip("`docker compose version` did not answer within 30 s")
    if r.returncode != 0:
        pytest.skip("Docker Compose v2 is not installed: `docker compose version` exited %d "
                    "(%s)" % (r.returncode, (r.stderr or r.stdout).strip().splitlines()[:1]))
    # "Docker Compose version v2.29.1" (or "2.29.1+ds1" from distributions)
    m = re.search(r"\bv?(\d+)\.\d+", r.stdout)
    if not m or int(m.group(1)) < 2:
        pytest.skip("`docker compose version` reports %r, not Compose v2 or later"
                    % r.stdout.strip())
    return docker


def test_compose_file_passes_docker_compose_config(tmp_path):
    """Where Docker Compose v2 is installed, it reads deploy/compose.yaml as valid (`config`
    parses, interpolates and validates; it needs no Docker engine). Skipped elsewhere."""
    docker = docker_compose_v2()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["DOCKER_CONFIG"] = str(tmp_path)  # no user plugins or contexts beyond the client's
    r = subprocess.run([docker, "compose", "-f", os.path.join(DEPLOY, "compose.yaml"), "config",
                        "--quiet"], capture_output=True, text=True, timeout=60, env=env,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    r = subprocess.run([docker, "compose", "-f", os.path.join(DEPLOY, "compose.yaml"), "config",
                        "--images"], capture_output=True, text=True, timeout=60, env=env,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    images = r.stdout.split()
    assert images and all(image_pin(i) for i in images), images


# ---- Kubernetes ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def k8s():
    """{kind: manifest} of deploy/kubernetes (sluice's namespace); kinds are unique there."""
    out = {}
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        doc = yaml_subset.load(path)
        if doc["kind"] != "Kustomization":
            assert doc["kind"] not in out, path
            out[doc["kind"]] = doc
    return out


@pytest.fixture(scope="module")
def agents_policy():
    return yaml_subset.load(os.path.join(K8S, "agents", "networkpolicy.yaml"))


@pytest.fixture(scope="module")
def example_agent():
    return yaml_subset.load(os.path.join(K8S, "agents", "example", "pod.yaml"))


def pod_spec(k8s):
    return k8s["Deployment"]["spec"]["template"]["spec"]


def container(k8s):
    containers = pod_spec(k8s)["containers"]
    assert len(containers) == 1
    return containers[0]


def pod_labels(k8s):
    return k8s["Deployment"]["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    assert set(selector) <= {"matchLabels"}, selector  # no matchExpressions to misread
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def container_port(k8s, port, protocol="TCP"):
    """A probe's or Service's port (a number or a port name) as a number, checking that the
    named port is of that protocol."""
    if isinstance(port, int):
        return port
    [named] = [p for p in container(k8s)["ports"] if p["name"] == port]
    assert named.get("protocol", "TCP") == protocol, named
    return named["containerPort"]


# What agents reach sluice on: the proxy, and DNS over UDP and TCP.
SLUICE_PORTS = [{"protocol": "TCP", "port": 3128}, {"protocol": "UDP", "port": 53},
                {"protocol": "TCP", "port": 53}]


def service_ip(k8s):
    return k8s["Service"]["spec"]["clusterIP"]


@pytest.mark.parametrize("directory", [K8S, os.path.join(K8S, "agents"),
                                       os.path.join(K8S, "agents", "example")],
                         ids=["sluice", "agents", "example_agent"])
def test_k8s_kustomization_lists_every_manifest(directory):
    kust = yaml_subset.load(os.path.join(directory, "kustomization.yaml"))
    files = {os.path.basename(p) for p in glob.glob(os.path.join(directory, "*.yaml"))}
    assert sorted(kust["resources"]) == sorted(files - {"kustomization.yaml"})
    assert "namespace" not in kust


def test_k8s_manifests_name_no_namespace(k8s, agents_policy, example_agent):
    for doc in list(k8s.values()) + [agents_policy, example_agent]:
        assert "namespace" not in doc["metadata"], doc["kind"]


def test_k8s_deployment_has_at_least_two_replicas(k8s):
    dep = k8s["Deployment"]
    assert dep["spec"]["replicas"] >= 2
    assert selects(dep["spec"]["selector"], pod_labels(k8s))
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_k8s_probes_ask_the_admin_endpoints(k8s):
    c = container(k8s)
    ready, live = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
    assert ready["path"] == "/readyz"
    assert live["path"] == "/healthz"
    assert container_port(k8s, ready["port"]) == ADMIN_PORT
    assert container_port(k8s, live["port"]) == ADMIN_PORT


def test_k8s_admin_listens_on_the_pod_ip(k8s):
    """The kubelet probes the pod IP: a loopback admin listener would fail every probe."""
    policy = yaml_subset.loads(k8s["ConfigMap"]["data"]["sluice.yaml"])
    assert policy["listen"]["admin"] == "0.0.0.0:%d" % ADMIN_PORT
    assert policy["listen"]["http"] in ("0.0.0.0:3128", ["0.0.0.0:3128"])
    assert policy["listen"]["dns"] in ("0.0.0.0:53", ["0.0.0.0:53"])


def test_k8s_resources_are_requested_and_limited(k8s):
    res = container(k8s)["resources"]
    for part in ("requests", "limits"):
        assert set(res[part]) == {"cpu", "memory"}, part


def test_k8s_security_context_is_hardened(k8s):
    pod = pod_spec(k8s)
    psc, csc = pod["securityContext"], container(k8s)["securityContext"]
    assert psc["runAsNonRoot"] is True and csc["runAsNonRoot"] is True
    assert psc["runAsUser"] != 0
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc.get("privileged", False) is False
    assert csc["capabilities"] == {"drop": ["ALL"]}
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert csc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key, False), key
    # Port 53 without a capability: a namespaced (safe) sysctl of the pod's own network.
    assert psc["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "53"}]


def test_k8s_config_comes_from_the_configmap_read_only(k8s):
    """Mounted as a directory, never with subPath: a subPath mount never sees an updated
    ConfigMap, so a reload would keep the old policy."""
    c = container(k8s)
    assert c["args"] == ["-c", CONFIG_PATH]
    mounts = [m for m in c["volumeMounts"] if m["mountPath"] == os.path.dirname(CONFIG_PATH)]
    assert len(mounts) == 1
    assert mounts[0]["readOnly"] is True
    assert "subPath" not in mounts[0]
    volumes = {v["name"]: v for v in pod_spec(k8s)["volumes"]}
    cm = volumes[mounts[0]["name"]]["configMap"]
    assert cm["name"] == k8s["ConfigMap"]["metadata"]["name"]
    assert "items" not in cm
    assert os.path.basename(CONFIG_PATH) in k8s["ConfigMap"]["data"]


def test_k8s_service_has_a_fixed_address_for_the_proxy_and_dns(k8s):
    """Agents name the Service by address (a resolver cannot be a name): a clusterIP the
    operator picks, and the proxy port and DNS over UDP and TCP, each to the container port
    sluice listens on."""
    svc = k8s["Service"]
    assert selects({"matchLabels": svc["spec"]["selector"]}, pod_labels(k8s))
    assert svc["spec"]["type"] == "ClusterIP"
    assert ipaddress.ip_address(service_ip(k8s)).version == 4  # not "None" or ""
    ports = svc["spec"]["ports"]
    assert [{"protocol": p.get("protocol", "TCP"), "port": p["port"]} for p in ports] == \
        SLUICE_PORTS
    for p in ports:
        assert container_port(k8s, p["targetPort"], p.get("protocol", "TCP")) == p["port"]
    assert "# Pick a free address of YOUR cluster's Service CIDR" in read(
        "deploy", "kubernetes", "service.yaml")


def test_k8s_pod_disruption_budget_keeps_one(k8s):
    pdb = k8s["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["minAvailable"] < k8s["Deployment"]["spec"]["replicas"]
    assert selects(pdb["spec"]["selector"], pod_labels(k8s))


def test_k8s_agents_may_reach_only_sluice_for_proxy_and_dns(k8s, agents_policy):
    """Every pod of the agents' namespace; egress only; one rule, one peer that is sluice's
    pods (namespace AND pod selector), three ports: TCP 3128, UDP and TCP 53. No ipBlock."""
    spec = agents_policy["spec"]
    assert agents_policy["kind"] == "NetworkPolicy"
    assert spec["podSelector"] == {}
    assert "Egress" in spec["policyTypes"]
    assert len(spec["egress"]) == 1
    rule = spec["egress"][0]
    assert set(rule) == {"to", "ports"}
    assert len(rule["to"]) == 1
    peer = rule["to"][0]
    assert set(peer) == {"namespaceSelector", "podSelector"}
    assert peer["namespaceSelector"]["matchLabels"]
    assert peer["podSelector"]["matchLabels"]
    assert selects(peer["podSelector"], pod_labels(k8s))
    assert rule["ports"] == SLUICE_PORTS


def test_k8s_agents_dns_goes_only_to_sluice(k8s, agents_policy):
    """DNS is a way out when any resolver answers: every egress rule that opens port 53 (or
    every port, by naming none) leads to sluice's pods alone, and no rule names an address
    block (the cluster's DNS Service, or anything else, by address)."""
    assert "ipBlock" not in json.dumps(agents_policy)
    dns_rules = [r for r in agents_policy["spec"]["egress"]
                 if "ports" not in r or any(p.get("port") in (53, "dns", "dns-tcp")
                                            for p in r["ports"])]
    assert dns_rules
    for rule in dns_rules:
        assert "to" in rule, rule  # no `to`: every destination
        for peer in rule["to"]:
            assert set(peer) == {"namespaceSelector", "podSelector"}, peer
            assert selects(peer["podSelector"], pod_labels(k8s)), peer


def test_k8s_sluice_admits_only_agents_for_proxy_and_dns(k8s, agents_policy):
    pol = k8s["NetworkPolicy"]["spec"]
    assert selects(pol["podSelector"], pod_labels(k8s))
    assert pol["policyTypes"] == ["Ingress"]
    assert len(pol["ingress"]) == 1
    rule = pol["ingress"][0]
    assert rule["ports"] == SLUICE_PORTS
    assert len(rule["from"]) == 1
    agents_ns = rule["from"][0]["namespaceSelector"]["matchLabels"]
    proxy_ns = agents_policy["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"]
    assert agents_ns and agents_ns != proxy_ns


def test_k8s_example_agent_resolves_only_through_sluice(k8s, example_agent):
    """The example agent pod: sluice's Service address as its one nameserver (no cluster DNS,
    no search domains) and in its proxy variables; nothing that leaves the pod network."""
    spec = example_agent["spec"]
    assert example_agent["kind"] == "Pod"
    assert spec["dnsPolicy"] == "None"
    assert spec["dnsConfig"]["nameservers"] == [service_ip(k8s)]
    assert spec["dnsConfig"].get("searches", []) == []
    for key in ("hostNetwork", "hostPID", "hostIPC", "hostAliases"):
        assert not spec.get(key), key
    [c] = spec["containers"]
    env = {e["name"]: e["value"] for e in c["env"]}
    for var in PROXY_VARS:
        assert env[var] == "http://%s:3128" % service_ip(k8s), var
    for var in NO_PROXY_VARS:
        assert env[var] == "", var
    assert "ports" not in c


def test_k8s_configmap_policy_passes_check_without_admin(sluice_bin, k8s, tmp_path):
    text = without_admin(k8s["ConfigMap"]["data"]["sluice.yaml"])
    r = sluice_check(sluice_bin, text, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_k8s_configmap_policy_passes_check(sluice_bin, k8s, tmp_path):
    """The policy as mounted, listen.admin included."""
    r = sluice_check(sluice_bin, k8s["ConfigMap"]["data"]["sluice.yaml"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- systemd ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unit():
    """{section: {key: [values in order]}}; an empty assignment resets, as systemd does."""
    out, section = {}, None
    for raw in read("deploy", "systemd", "sluice.service").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"\[(\w+)\]\Z", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        key, _, value = line.partition("=")
        values = section.setdefault(key.strip(), [])
        if value.strip() == "":
            values.clear()
        values.append(value.strip())
    return out


def test_systemd_unit_is_sandboxed(unit):
    svc = unit["Service"]
    for key, value in (("DynamicUser", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                       ("NoNewPrivileges", "yes"), ("Restart", "on-failure"),
                       ("LimitNOFILE", "65536")):
        assert svc[key] == [value], key
    assert svc["CapabilityBoundingSet"] == [""]
    assert svc.get("AmbientCapabilities", [""]) == [""]
    assert "User" not in svc
    families = svc["RestrictAddressFamilies"][-1].split()
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(families)
    assert not {"AF_PACKET", "~AF_PACKET"} & set(families)
    assert svc["SystemCallFilter"][0] == "@system-service"


def test_systemd_unit_starts_and_reloads_sluice(unit):
    svc = unit["Service"]
    assert svc["ExecStart"] == ["/usr/local/bin/sluice -c %s" % CONFIG_PATH]
    assert svc["ExecReload"][-1] == "/bin/kill -HUP $MAINPID"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_default_port_needs_no_capability(unit):
    """CAP_NET_BIND_SERVICE only for a port below 1024; the documented default is 3128."""
    assert "CAP_NET_BIND_SERVICE" not in " ".join(unit["Service"].get("AmbientCapabilities",
                                                                        []))


# ---- the container image ------------------------------------------------------------------

@pytest.fixture(scope="module")
def stages():
    return dockerfile_stages()


def dockerfile_stages():
    """[[(INSTRUCTION, arguments)] per stage] of the Dockerfile."""
    out, lines, cont = [], [], ""
    for raw in read("Dockerfile").splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.endswith("\\"):
            cont += raw[:-1] + " "
            continue
        line = (cont + raw).strip()
        cont = ""
        if line:
            lines.append(line)
    for line in lines:
        instr, _, args = line.partition(" ")
        if instr.upper() == "FROM":
            out.append([])
        out[-1].append((instr.upper(), args.strip()))
    return out


def instructions(stage, name):
    return [args for instr, args in stage if instr == name]


def apt_packages(stage):
    pkgs = []
    for run in instructions(stage, "RUN"):
        for m in re.finditer(r"apt-get install ((?:[-\w.+]+ *)+)", run):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def makefile_packages():
    m = re.search(r"DEB_PACKAGES = ((?:.*\\\n)*.*)", read("Makefile"))
    return set(m.group(1).replace("\\\n", " ").split())


def test_dockerfile_builds_on_debian_12_with_the_makefile_deps(stages):
    build, runtime = stages[0], stages[-1]
    assert len(stages) == 2
    assert instructions(build, "FROM") == ["debian:12-slim AS build"]
    assert instructions(runtime, "FROM") == ["debian:12-slim"]
    pkgs = set(apt_packages(build))
    assert pkgs <= makefile_packages()
    assert {"libevent-dev", "libc-ares-dev", "libyaml-dev", "libssl-dev", "cmake"} <= pkgs
    assert not pkgs & {"clang", "libcmocka-dev", "python3-pytest", "curl"}
    assert any("-DCMAKE_BUILD_TYPE=Release" in r for r in instructions(build, "RUN"))


def test_dockerfile_runtime_holds_only_runtime_libraries(stages):
    assert sorted(apt_packages(stages[-1])) == sorted([
        "libevent-core-2.1-7", "libevent-pthreads-2.1-7", "libc-ares2", "libyaml-0-2",
        "libssl3", "ca-certificates"])
    assert any("--no-install-recommends" in r for r in instructions(stages[-1], "RUN"))


def test_dockerfile_runs_as_non_root(stages):
    runtime = stages[-1]
    users = instructions(runtime, "USER")
    assert users == ["10001:10001"]
    assert any(re.search(r"useradd .*--uid 10001", r) for r in instructions(runtime, "RUN"))
    # USER comes before the process is defined, and nothing switches back.
    order = [instr for instr, _ in runtime]
    assert order.index("USER") < order.index("ENTRYPOINT")


def test_dockerfile_documents_the_config_path_and_ports(stages):
    runtime = stages[-1]
    assert json.loads(instructions(runtime, "ENTRYPOINT")[0]) == ["/usr/local/bin/sluice"]
    assert json.loads(instructions(runtime, "CMD")[0]) == ["-c", CONFIG_PATH]
    assert instructions(runtime, "EXPOSE") == ["3128 9090"]
    copies = instructions(runtime, "COPY")
    assert "deploy/image/sluice.yaml %s" % CONFIG_PATH in copies


def test_dockerfile_healthcheck_asks_healthz(stages):
    """Exec form (the JSON must parse: Docker silently falls back to a shell string when it
    does not), the admin port, /healthz; and it really answers healthy / unhealthy."""
    checks = instructions(stages[-1], "HEALTHCHECK")
    assert len(checks) == 1
    argv_json = checks[0][checks[0].index("CMD ") + 4:]
    argv = json.loads(argv_json)
    assert "/dev/tcp/127.0.0.1/%d" % ADMIN_PORT in argv[2]
    assert_probe_behaves(argv, "/healthz")


def test_image_config_listens_for_the_container():
    """Every address of the container for the proxy; loopback for the admin listener, which
    the HEALTHCHECK asks from inside."""
    policy = load("image", "sluice.yaml")
    assert policy["listen"]["http"] == "0.0.0.0:3128"
    assert policy["listen"]["admin"] == "127.0.0.1:%d" % ADMIN_PORT


def test_image_config_passes_check_without_admin(sluice_bin, tmp_path):
    r = sluice_check(sluice_bin, without_admin(read("deploy", "image", "sluice.yaml")), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_image_config_passes_check(sluice_bin, tmp_path):
    """The file as built into the image, listen.admin included."""
    r = sluice_check(sluice_bin, read("deploy", "image", "sluice.yaml"), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def dockerignore_includes(path):
    """Whether the build context keeps `path`, by .dockerignore's rules (last match wins)."""
    keep = True
    parts = path.split("/")
    for raw in read(".dockerignore").splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern)
               for i in range(1, len(parts) + 1)):
            keep = negate
    return keep


def test_dockerignore_keeps_the_sources_and_drops_the_rest(stages):
    for instr_args in instructions(stages[0], "COPY") + instructions(stages[-1], "COPY"):
        if instr_args.startswith("--from"):
            continue
        for source in shlex.split(instr_args)[:-1]:
            assert dockerignore_includes(source.rstrip("/")), source
    for path in (".git/config", "build/sluice", "build-sanitize/CMakeCache.txt",
                 "tests/integration/conftest.py", "fuzz/corpus/x", "deploy/sluice.yaml"):
        assert not dockerignore_includes(path), path


# ---- the docs and the reader --------------------------------------------------------------

def deploy_doc_section(title):
    doc = read("docs", "deploy.md")
    start = doc.index("\n## %s\n" % title)
    end = doc.find("\n## ", start + 1)
    return doc[start:end if end >= 0 else len(doc)]


def test_deploy_doc_proxy_variable_free_policies_pass_check(sluice_bin, compose, k8s, tmp_path):
    """The policies of "Without proxy variables" (issue 13): valid, answering by proxy with the
    transparent listeners on the address agents are given, which is sluice's on `agents` for
    Compose and the Service's cluster IP for Kubernetes."""
    section = deploy_doc_section("Without proxy variables")
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 2, blocks
    for i, (text, address, bind) in enumerate([
            (blocks[0], sluice_agents_address(compose), sluice_agents_address(compose)),
            (blocks[1], service_ip(k8s), "0.0.0.0")]):
        r = sluice_check(sluice_bin, text, tmp_path, name="doc%d.yaml" % i)
        assert r.returncode == 0, text + r.stdout + r.stderr
        policy = yaml_subset.loads(text)
        assert policy["dns"] == {"answer": "proxy", "proxy_addresses": [address]}, text
        assert policy["listen"]["transparent_http"] == "%s:80" % bind, text
        assert policy["listen"]["transparent_tls"] == "%s:443" % bind, text
        assert policy["listen"]["dns"] == "%s:53" % bind, text


def test_deploy_doc_gives_the_one_command():
    doc = read("docs", "deploy.md")
    assert "docker compose -f deploy/compose.yaml up -d" in doc
    assert "kubectl apply -n" in doc


def test_yaml_subset_agrees_with_pyyaml_where_available():
    """A second reading of every deploy file, when PyYAML happens to be installed."""
    yaml = pytest.importorskip("yaml")
    paths = glob.glob(os.path.join(DEPLOY, "**", "*.yaml"), recursive=True) + \
        glob.glob(os.path.join(DEPLOY, "**", "*.yml"), recursive=True)
    assert len(paths) >= 10
    for path in paths:
        with open(path, encoding="utf-8") as f:
            assert yaml_subset.load(path) == yaml.safe_load(f), path


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n", "a: yes\n", "a: off\n", "a: &x 1\n", "b: *x\n", "a: !!str 1\n",
    "a:\n\t- b\n", "mode: 0644\n", "x: 1\n---\ny: 2\n", "a: >\n  folded\n",
    "a: 'open\n", "a:\n  b: 1\n   c: 2\n", "a: [1, 2\n", "a: b\nc\n",
], ids=["duplicate_key", "yes", "off", "anchor", "alias", "tag", "tab", "octal",
        "two_documents", "folded", "unterminated", "indentation", "flow", "stray_text"])
def test_yaml_subset_refuses_what_it_does_not_read(text):
    with pytest.raises(yaml_subset.YAMLSubsetError):
        yaml_subset.loads(text)
