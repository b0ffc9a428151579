#!/usr/bin/env python3
"""Checks the deployment files against the code, since no Docker engine or helm binary runs
in the tests: deploy/docker/Dockerfile, deploy/docker-compose.yml, deploy/systemd/ and
helm/ar-suite.

What must hold (each failure names the file and what is wrong):
- every --flag and AR_<FLAG> variable the files set is a flag of the binary that reads it
  (its --helpfull), and every value set parses (the binary is run with it);
- every service listens on, publishes, probes and is addressed at its binary's --listen
  default port (and the gateway's --<service>_address defaults agree with them);
- every service has health checks (compose), startup/readiness/liveness gRPC probes and
  resources (chart); compose services wait for a healthy Kafka and Redis;
- the image builds exactly the CMake targets of every binary and ships each one;
- the runtime image installs the Debian package of every shared library they link;
- the clock runs as one replica; the ConfigMap's policies equal config/; systemd units
  are hardened, restart on failure and outwait the graceful shutdown.

  check_deploy.py --root REPO --binary TARGET=PATH... [--selftest]

--selftest breaks copies of the files in known ways and expects each to be caught.
Needs python3 and python3-yaml (deploy/local/install-deps.sh installs both).
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    sys.exit("check_deploy: needs python3-yaml (deploy/local/install-deps.sh installs it)")

# libyaml's parser when present (python3-yaml has it): 5x faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The services run alone, by chart/compose name; and their binaries.
SERVICES = {
    "invoicing": "ar-invoicing",
    "payments": "ar-payments",
    "credit-risk": "ar-credit-risk",
    "collections": "ar-collections",
    "clock": "ar-clock",
    "gateway": "ar-gateway",
}
ALL_IN_ONE = "ar-suite"
# arctl has its own command line (not absl flags): global flags that take a value, and the
# subcommand whose flags its `health --help` lists.
ARCTL = "arctl"
ARCTL_VALUE_FLAGS = {"server", "tenant", "timeout", "service"}
# Base-image libraries the runtime stage need not name.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def load_yaml(text):
    return yaml.load(text, Loader=YAML_LOADER)


def parse_duration(text):
    """'30s', '1m', '10' (seconds) -> seconds; None when it is not one."""
    match = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h|min)?\s*", str(text))
    if not match:
        return None
    value = int(match.group(1))
    unit = match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600}[unit]


def port_of(address):
    match = re.search(r":(\d+)$", str(address).strip())
    return int(match.group(1)) if match else None


class Binaries:
    """The built binaries, their flags (from --helpfull) and a cache of value checks."""

    def __init__(self, targets):
        self.targets = targets  # CMake target -> path
        self.paths = {os.path.basename(p): p for p in targets.values()}
        self._flags = {}
        self._env_results = {}

    def flags(self, binary):
        """flag name -> default text, from `binary --helpfull` (arctl: `arctl health --help`,
        its global flags and health's, without defaults)."""
        if binary not in self._flags:
            arguments = ["health", "--help"] if binary == ARCTL else ["--helpfull"]
            result = subprocess.run([self.paths[binary]] + arguments, capture_output=True,
                                    text=True, env=clean_environment(), timeout=30)
            text = result.stdout + result.stderr
            flags = {}
            if binary == ARCTL:
                flags = {name: "" for name in re.findall(r"^\s+--([a-z][a-z0-9_-]*)", text, re.M)}
            for match in re.finditer(r"^\s+--([a-z0-9_]+) \((.*?)\);\s+default: (.*?);$", text,
                                     re.M | re.S):
                flags[match.group(1)] = match.group(3).strip().strip('"')
            if not flags:
                raise RuntimeError(f"{binary} --helpfull listed no flags:\n{text}")
            self._flags[binary] = flags
        return self._flags[binary]

    def listen_port(self, binary):
        return port_of(self.flags(binary).get("listen", ""))

    def shutdown_seconds(self, binary):
        flags = self.flags(binary)
        for name in ("shutdown_grace", "shutdown_deadline"):
            if name in flags:
                return parse_duration(flags[name])
        return None

    def rejected_values(self, binary, env):
        """The message of the binary when it refuses these AR_* values, else None."""
        key = (binary, tuple(sorted(env.items())))
        if key not in self._env_results:
            environment = clean_environment()
            environment.update(env)
            result = subprocess.run([self.paths[binary], "--helpfull"], capture_output=True,
                                    text=True, env=environment, timeout=30)
            # ParseFlagsAndEnvironment exits 2 on a bad value; --helpfull exits 1.
            message = (result.stderr.strip().splitlines() or ["?"])[-1]
            self._env_results[key] = message.replace(self.paths[binary], binary) \
                if result.returncode == 2 else None
        return self._env_results[key]


def clean_environment():
    return {k: v for k, v in os.environ.items() if not k.startswith("AR_")}


class Checker:
    def __init__(self, root, binaries):
        self.root = root
        self.bin = binaries
        self.problems = []

    def problem(self, where, message):
        self.problems.append(f"{where}: {message}")

    def read(self, relative):
        with open(os.path.join(self.root, relative), encoding="utf-8") as f:
            return f.read()

    # ---- shared rules ----

    def check_setting(self, where, binary, variable):
        """AR_<FLAG> must name a flag of binary."""
        if not variable.startswith("AR_"):
            return
        flag = variable[3:].lower()
        if flag not in self.bin.flags(binary):
            self.problem(where, f"{variable} sets --{flag}, which {binary} does not have")

    def check_flag(self, where, binary, argument):
        name = argument[2:].split("=", 1)[0]
        if name not in self.bin.flags(binary):
            self.problem(where, f"--{name}: {binary} has no such flag")

    def check_command_lines(self, where, text):
        """Every --flag after a binary's name on a command line in `text` (continuations
        joined) is one of that binary's flags."""
        for line in re.sub(r"\\\n", " ", text).splitlines():
            tokens = re.findall(r"[^\s\"',\[\]]+", line)
            for i, token in enumerate(tokens):
                if os.path.basename(token) in self.bin.paths:
                    self.check_command(where, os.path.basename(token), tokens[i + 1:])

    def check_command(self, where, binary, arguments):
        skip_value = False
        for argument in arguments:
            if skip_value:
                skip_value = False
            elif argument == "--":
                return
            elif argument.startswith("--"):
                self.check_flag(where, binary, argument)
                name = argument[2:]
                skip_value = binary == ARCTL and name in ARCTL_VALUE_FLAGS
            elif binary == ARCTL and argument != "health":
                return  # another arctl command: its flags are not health's

    def check_values(self, where, binary, env):
        env = {k: str(v) for k, v in env.items()
               if k.startswith("AR_") and k[3:].lower() in self.bin.flags(binary)}
        rejected = self.bin.rejected_values(binary, env)
        if rejected:
            self.problem(where, f"{binary} refuses these settings: {rejected}")

    def check_port(self, where, binary, address, what="AR_LISTEN"):
        expected = self.bin.listen_port(binary)
        if port_of(address) != expected:
            self.problem(where, f"{what} {address!r}: {binary} listens on port {expected} "
                                "(its --listen default)")

    def max_shutdown(self):
        return max(self.bin.shutdown_seconds(b) or 0 for b in SERVICES.values())

    # ---- the code itself ----

    def check_binaries(self):
        for name, binary in list(SERVICES.items()) + [(ALL_IN_ONE, ALL_IN_ONE)]:
            if binary not in self.bin.paths:
                self.problem("CMake", f"no executable target builds {binary}")
        gateway = self.bin.flags("ar-gateway")
        for name, binary in SERVICES.items():
            if name == "gateway":
                continue
            flag = name.replace("-", "_") + "_address"
            if flag not in gateway:
                self.problem("ar-gateway", f"has no --{flag} for {binary}")
            elif port_of(gateway[flag]) != self.bin.listen_port(binary):
                self.problem("ar-gateway", f"--{flag} defaults to {gateway[flag]}, but "
                                           f"{binary} listens on {self.bin.listen_port(binary)}")

    # ---- deploy/docker/Dockerfile and .dockerignore ----

    def check_dockerfile(self):
        where = "deploy/docker/Dockerfile"
        text = self.read(where)
        joined = re.sub(r"\\\n", " ", text)
        lines = [l for l in joined.splitlines() if l.strip() and not l.lstrip().startswith("#")]
        froms = [l.split()[1:] for l in lines if l.upper().startswith("FROM ")]
        if len(froms) < 2 or froms[0][0] != "debian:12" or froms[-1][0] != "debian:12-slim":
            self.problem(where, f"wants a debian:12 build stage and a debian:12-slim runtime "
                                f"stage, has {froms}")
        stages = re.split(r"^FROM .*$", joined, flags=re.M)
        build, runtime = stages[1] if len(stages) > 1 else "", stages[-1]
        for needed in ("deploy/local/install-deps.sh", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                       "-G Ninja"):
            if needed not in build:
                self.problem(where, f"the build stage does not use {needed}")

        targets_match = re.search(r"--target\s+([\w\s-]+?)(?:&&|$|\n)", build)
        targets = set(targets_match.group(1).split()) if targets_match else set()
        if targets != set(self.bin.targets):
            self.problem(where, "builds targets " + ", ".join(sorted(targets)) +
                         "; the binaries' CMake targets are " +
                         ", ".join(sorted(self.bin.targets)))
        shipped_match = re.search(r"for binary in\s+([\w\s/.-]+?);\s*do", build)
        shipped = shipped_match.group(1).split() if shipped_match else []
        names = {os.path.basename(p) for p in shipped}
        for path in shipped:
            name = os.path.basename(path)
            if name in self.bin.paths and not self.bin.paths[name].endswith("/" + path):
                self.problem(where, f"copies {path}, but CMake builds {name} as "
                                    f"{self.bin.paths[name]}")
        if names != set(self.bin.paths):
            self.problem(where, "ships " + ", ".join(sorted(names)) + "; the project builds " +
                         ", ".join(sorted(self.bin.paths)))
        if not re.search(r"^COPY --from=build /out/bin/ /usr/local/bin/", runtime, re.M):
            self.problem(where, "the runtime stage does not copy /out/bin to /usr/local/bin")

        user = re.search(r"^USER\s+(\d+)", runtime, re.M)
        if not user or int(user.group(1)) == 0:
            self.problem(where, "the runtime stage must switch to a numeric non-root USER")
        self.image_uid = int(user.group(1)) if user else None
        health = re.search(r"^HEALTHCHECK .*$", runtime, re.M)
        if not health or "arctl" not in health.group(0) or "health" not in health.group(0):
            self.problem(where, "no HEALTHCHECK running `arctl ... health`")
        for instruction in re.findall(r"^(?:HEALTHCHECK|CMD|ENTRYPOINT) .*$", runtime, re.M):
            self.check_command_lines(where, instruction)

        env = {}
        for match in re.finditer(r"^ENV\s+(.*)$", runtime, re.M):
            for token in shlex.split(match.group(1)):
                if "=" in token:
                    key, value = token.split("=", 1)
                    env[key] = value
        for key in env:
            self.check_setting(f"{where} ENV", ALL_IN_ONE, key)
        self.check_values(f"{where} ENV", ALL_IN_ONE, env)
        copied = set()
        for match in re.finditer(r"^COPY\s+(?!--from)(.*?)\s+/etc/ar-suite/?\s*$", runtime, re.M):
            copied |= {os.path.basename(p) for p in match.group(1).split()}
            for path in match.group(1).split():
                if not os.path.exists(os.path.join(self.root, path)):
                    self.problem(where, f"copies {path}, which does not exist")
        for key, value in env.items():
            if value.startswith("/etc/ar-suite/") and os.path.basename(value) not in copied:
                self.problem(where, f"{key}={value}, a file the image does not contain")

        install = re.search(r"apt-get install\s+(.*?)(?:&&|$)", runtime, re.M)
        listed = {t for t in install.group(1).split() if not t.startswith("-")} if install else set()
        for package, library in self.linked_packages().items():
            if package not in listed and package not in BASE_PACKAGES:
                self.problem(where, f"the runtime stage does not install {package} ({library})")

        ignored = {l.strip().strip("/") for l in self.read(".dockerignore").splitlines()}
        for needed in ("build", "var", ".git"):
            if needed not in ignored:
                self.problem(".dockerignore", f"does not exclude {needed}")

    def linked_packages(self):
        """Debian package -> one shared library of it that a binary links (ldd, dpkg -S)."""
        if hasattr(Checker, "_linked"):
            return Checker._linked
        libraries = set()
        for path in self.bin.paths.values():
            out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
            libraries |= set(re.findall(r"=> (/\S+)", out))
        owners = {}
        if shutil.which("dpkg"):
            paths = sorted({os.path.realpath(l) for l in libraries} | libraries |
                           {"/usr" + l for l in libraries if l.startswith("/lib")})
            out = subprocess.run(["dpkg", "-S"] + paths, capture_output=True, text=True).stdout
            for line in out.splitlines():
                package, _, path = line.partition(": ")
                owners.setdefault(package.split(":")[0], os.path.basename(path))
        else:
            print("check_deploy: no dpkg: the runtime packages are not checked")
        Checker._linked = owners
        return owners

    # ---- deploy/docker-compose.yml ----

    def check_compose(self):
        where = "deploy/docker-compose.yml"

        def substitute(text):
            text = re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", text)
            text = re.sub(r"\$\{\w+\}", "", text)
            return text.replace("$$", "$")

        compose = load_yaml(substitute(self.read(where)))
        services = compose.get("services", {})
        for infra in ("kafka", "redis"):
            if infra not in services or "test" not in services[infra].get("healthcheck", {}):
                self.problem(where, f"needs a {infra} service with a health check")
        kafka_env = services.get("kafka", {}).get("environment", {}) or {}
        if "KAFKA_PROCESS_ROLES" not in kafka_env or any("ZOOKEEPER" in k for k in kafka_env):
            self.problem(where, "kafka must run in KRaft mode (KAFKA_PROCESS_ROLES, no ZooKeeper)")
        redis_command = " ".join(map(str, services.get("redis", {}).get("command", [])))
        if "--appendonly yes" not in redis_command:
            self.problem(where, "redis must run with --appendonly yes")

        by_binary = {}
        images = set()
        for name, service in services.items():
            command = service.get("command") or []
            if isinstance(command, str):
                command = shlex.split(command)
            if not command or command[0] not in self.bin.paths:
                continue
            binary = command[0]
            by_binary.setdefault(binary, []).append(name)
            images.add(service.get("image"))
            env = service.get("environment") or {}
            if isinstance(env, list):
                env = dict(item.split("=", 1) for item in env)
            env = {k: str(v) for k, v in env.items()}
            here = f"{where} {name}"
            for key in env:
                self.check_setting(here, binary, key)
            for argument in command[1:]:
                if argument.startswith("--"):
                    self.check_flag(here, binary, argument)
            self.check_values(here, binary, env)
            service["_env"], service["_binary"] = env, binary
        if len(images) > 1:
            self.problem(where, f"the services run different images {sorted(map(str, images))}; "
                                "the one image has every binary")

        port_of_name = {}
        for binary in SERVICES.values():
            names = by_binary.get(binary, [])
            if len(names) != 1:
                self.problem(where, f"wants exactly one service running {binary}, has {names}")
                continue
            name = names[0]
            service, env, here = services[name], services[name]["_env"], f"{where} {name}"
            port = port_of(env.get("AR_LISTEN", self.bin.flags(binary)["listen"]))
            port_of_name[name] = (binary, port)
            self.check_port(here, binary, env.get("AR_LISTEN", self.bin.flags(binary)["listen"]))
            if env.get("AR_LOG_BACKEND") != "kafka":
                self.problem(here, "must run on Kafka (AR_LOG_BACKEND=kafka)")
            test = service.get("healthcheck", {}).get("test", [])
            test = test if isinstance(test, list) else shlex.split(test)
            server = next((test[i + 1] for i, t in enumerate(test[:-1]) if t == "--server"), "")
            if "arctl" not in test or "health" not in test or port_of(server) != port:
                self.problem(here, f"needs a health check `arctl --server 127.0.0.1:{port} "
                                   f"health`, has {test}")
            else:
                self.check_command(here + " healthcheck", ARCTL, test[test.index("arctl") + 1:])
            depends = service.get("depends_on") or {}
            needed = ["kafka"] + (["redis"] if env.get("AR_STORE_BACKEND") == "redis" else [])
            if binary != "ar-gateway" and env.get("AR_STORE_BACKEND") != "redis":
                self.problem(here, "must keep its read model in Redis (AR_STORE_BACKEND=redis)")
            for backend in needed:
                condition = depends.get(backend, {}).get("condition") \
                    if isinstance(depends, dict) else None
                if condition != "service_healthy":
                    self.problem(here, f"must depend on {backend} with condition "
                                       f"service_healthy (has {condition})")
            grace = parse_duration(service.get("stop_grace_period", "10s"))
            if grace is None or grace <= self.max_shutdown():
                self.problem(here, f"stop_grace_period {service.get('stop_grace_period')} does "
                                   f"not outwait the {self.max_shutdown()}s graceful shutdown")

        # The gateway's addresses name the compose service running that binary, at its port.
        for name in by_binary.get("ar-gateway", []):
            env = services[name]["_env"]
            for other, binary in SERVICES.items():
                if other == "gateway":
                    continue
                variable = "AR_" + other.upper().replace("-", "_") + "_ADDRESS"
                address = env.get(variable, "")
                host = address.rsplit(":", 1)[0]
                if port_of_name.get(host) != (binary, self.bin.listen_port(binary)) or \
                        port_of(address) != self.bin.listen_port(binary):
                    self.problem(f"{where} {name}", f"{variable}={address!r} is not the "
                                 f"{binary} service at port {self.bin.listen_port(binary)}")
        gateway_names = by_binary.get("ar-gateway", [])
        for name in by_binary.get("ar-demo", []):
            service = services[name]
            server = service["_env"].get("AR_SERVER", "")
            host = server.rsplit(":", 1)[0]
            if host not in gateway_names or port_of(server) != self.bin.listen_port("ar-gateway"):
                self.problem(f"{where} {name}", f"AR_SERVER={server!r} is not the gateway")
            depends = service.get("depends_on") or {}
            if not any(depends.get(g, {}).get("condition") == "service_healthy"
                       for g in gateway_names):
                self.problem(f"{where} {name}", "must wait for a healthy gateway")
            if str(service.get("restart", "no")) != "no":
                self.problem(f"{where} {name}", "the demo feeder is one-shot: restart \"no\"")
        if not by_binary.get("ar-demo"):
            self.problem(where, "no one-shot demo feeder (ar-demo)")
        for volume in ("kafka", "redis"):
            mounts = " ".join(map(str, services.get(volume, {}).get("volumes", [])))
            if not mounts:
                self.problem(where, f"{volume} keeps its data in no volume")

    # ---- deploy/systemd ----

    def check_systemd(self):
        directory = os.path.join(self.root, "deploy/systemd")
        units = sorted(f for f in os.listdir(directory) if f.endswith(".service"))
        expected = sorted(b + ".service" for b in list(SERVICES.values()) + [ALL_IN_ONE])
        if units != expected:
            self.problem("deploy/systemd", f"has units {units}, wants {expected}")
        env_file_users = {}
        rewritten = tempfile.mkdtemp(prefix="check_deploy_units.")
        try:
            for unit in units:
                self.check_unit(unit, env_file_users, rewritten)
            self.verify_units(rewritten)
        finally:
            shutil.rmtree(rewritten)
        for env_file in sorted(f for f in os.listdir(directory) if f.endswith(".env")):
            where = f"deploy/systemd/{env_file}"
            users = env_file_users.get(env_file, [])
            if not users:
                self.problem(where, "no unit loads it")
            for key in self.read_env_file(where):
                if not key.startswith("AR_"):
                    self.problem(where, f"{key}: the binaries read AR_<FLAG> variables only")
                elif users and not any(key[3:].lower() in self.bin.flags(b) for b in users):
                    self.problem(where, f"{key}: none of {users} has --{key[3:].lower()}")

    def read_env_file(self, relative):
        env = {}
        for line in self.read(relative).splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip().strip('"')
        return env

    def check_unit(self, unit, env_file_users, rewritten):
        where = f"deploy/systemd/{unit}"
        text = self.read(where)
        settings = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                key, value = line.split("=", 1)
                settings.append((key.strip(), value.strip()))
        values = {}
        for key, value in settings:
            values.setdefault(key, []).append(value)
        exec_start = shlex.split(values.get("ExecStart", [""])[0])
        binary = os.path.basename(exec_start[0]) if exec_start else ""
        if binary not in self.bin.paths:
            self.problem(where, f"ExecStart runs {binary!r}, which the project does not build")
            return
        if unit != binary + ".service":
            self.problem(where, f"runs {binary}; name it {binary}.service")
        for argument in exec_start[1:]:
            if argument.startswith("--"):
                self.check_flag(where, binary, argument)
        env = {}
        for value in values.get("Environment", []):
            for assignment in shlex.split(value):
                key, _, setting = assignment.partition("=")
                self.check_setting(where, binary, key)
                env[key] = setting
        # EnvironmentFile= settings override Environment= ones, whatever their order.
        for value in values.get("EnvironmentFile", []):
            name = os.path.basename(value.lstrip("-"))
            if os.path.exists(os.path.join(self.root, "deploy/systemd", name)):
                env_file_users.setdefault(name, []).append(binary)
                env.update(self.read_env_file(f"deploy/systemd/{name}"))
            elif not value.startswith("-"):
                self.problem(where, f"EnvironmentFile={value} is not optional and not in "
                                    "deploy/systemd")
        self.check_values(where, binary, env)
        if binary in SERVICES.values() or binary == ALL_IN_ONE:
            listen = env.get("AR_LISTEN")
            if listen and binary in SERVICES.values():
                self.check_port(where, binary, listen)
        wanted = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "Restart": "on-failure"}
        for key, value in wanted.items():
            if values.get(key, [None])[-1] != value:
                self.problem(where, f"wants {key}={value}")
        for key in ("User", "ReadWritePaths"):
            if not values.get(key, [""])[-1]:
                self.problem(where, f"wants {key}=")
        data_dir = env.get("AR_DATA_DIR", self.bin.flags(binary).get("data_dir", ""))
        if not any(data_dir.startswith(p.rstrip("/") + "/") or data_dir == p
                   for p in " ".join(values.get("ReadWritePaths", [])).split()):
            self.problem(where, f"the data directory {data_dir} is not in ReadWritePaths")
        stop = parse_duration(values.get("TimeoutStopSec", [""])[-1])
        grace = self.bin.shutdown_seconds(binary) or 0
        if stop is None or stop <= grace:
            self.problem(where, f"TimeoutStopSec must outwait the {grace}s graceful shutdown")
        with open(os.path.join(rewritten, unit), "w", encoding="utf-8") as f:
            f.write(re.sub(r"^ExecStart=" + re.escape(exec_start[0]),
                           "ExecStart=" + self.bin.paths[binary], text, count=1, flags=re.M))

    def verify_units(self, directory):
        """systemd-analyze verify (unknown keys, bad values), with the built binaries."""
        if not shutil.which("systemd-analyze"):
            print("check_deploy: no systemd-analyze: unit syntax not verified")
            return
        units = sorted(os.path.join(directory, f) for f in os.listdir(directory))
        key = tuple(open(u, encoding="utf-8").read() for u in units)
        cache = Checker.__dict__.get("_verified", {})
        if key not in cache:
            result = subprocess.run(["systemd-analyze", "verify"] + units, capture_output=True,
                                    text=True, env=dict(clean_environment(), SYSTEMD_LOG_COLOR="0"))
            cache[key] = [l.replace(directory + "/", "") for l in
                          (result.stdout + result.stderr).splitlines() if l.strip()]
            Checker._verified = cache
        for line in cache[key]:
            self.problem("deploy/systemd (systemd-analyze verify)", line)

    # ---- helm/ar-suite ----

    def check_chart(self):
        chart_dir = "helm/ar-suite"
        chart = load_yaml(self.read(f"{chart_dir}/Chart.yaml"))
        for key in ("apiVersion", "name", "version", "appVersion"):
            if not chart.get(key):
                self.problem(f"{chart_dir}/Chart.yaml", f"has no {key}")
        values = load_yaml(self.read(f"{chart_dir}/values.yaml"))
        templates_dir = os.path.join(self.root, chart_dir, "templates")
        templates = {f: self.read(f"{chart_dir}/templates/{f}")
                     for f in sorted(os.listdir(templates_dir))}
        for needed in ("_helpers.tpl", "services.yaml", "configmap.yaml", "secret.yaml",
                       "hpa.yaml", "pdb.yaml", "NOTES.txt"):
            if needed not in templates:
                self.problem(chart_dir, f"has no templates/{needed}")
                templates.setdefault(needed, "")

        for name, text in templates.items():
            self.check_template_syntax(f"{chart_dir}/templates/{name}", text, values)
        self.check_command_lines(f"{chart_dir}/templates/NOTES.txt", templates["NOTES.txt"])

        services = values.get("services") or {}
        where = f"{chart_dir}/values.yaml"
        if set(services) != set(SERVICES):
            self.problem(where, f"services are {sorted(services)}, wants {sorted(SERVICES)}")
        deployment = templates["services.yaml"]
        configmap = templates["configmap.yaml"]
        config_keys = set(re.findall(r"^  ([\w.-]+):", configmap, re.M))
        static_env = self.template_env(deployment, values)
        for name, service in services.items():
            binary = SERVICES.get(name)
            here = f"{where} services.{name}"
            if not binary:
                continue
            if service.get("binary") != binary:
                self.problem(here, f"binary {service.get('binary')!r}, wants {binary}")
            if service.get("port") != self.bin.listen_port(binary):
                self.problem(here, f"port {service.get('port')}: {binary} listens on "
                                   f"{self.bin.listen_port(binary)} (its --listen default)")
            resources = service.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if not (resources.get(kind) or {}).get(resource):
                        self.problem(here, f"has no resources.{kind}.{resource}")
            env = {}
            for variable, value in (service.get("env") or {}).items():
                self.check_setting(here + ".env", binary, variable)
                env[variable] = str(value)
            for variable, key in (service.get("envFromConfig") or {}).items():
                self.check_setting(here + ".envFromConfig", binary, variable)
                if key not in config_keys:
                    self.problem(here, f"envFromConfig {variable} reads ConfigMap key {key!r}, "
                                       f"which configmap.yaml does not define")
                else:
                    env[variable] = str(values.get({"regions": "regions",
                                                    "ingest-regions": "ingestRegions"}.get(key, ""),
                                                   "")) or "x"
            for variable, value in env.items():
                if value.startswith("/etc/ar-suite/") and \
                        os.path.basename(value) not in config_keys:
                    self.problem(here, f"{variable}={value}: the ConfigMap mounted at "
                                       "/etc/ar-suite has no such file")
            rendered = {k: v.replace("{{ $svc.port }}", str(service.get("port")))
                        for k, v in static_env.items()
                        if (service.get("store") or not k.startswith("AR_REDIS") and
                            k != "AR_STORE_BACKEND")}
            rendered.update(env)
            self.check_values(here, binary, rendered)
            if name == "clock":
                if "replicas" in service:
                    self.problem(here, "the clock runs exactly one replica: no replicas value")
            elif not isinstance(service.get("replicas"), int) or service["replicas"] < 1:
                self.problem(here, "wants replicas >= 1")

        # Every AR_* the Deployment template sets for all services: a flag of each binary.
        for variable in sorted(set(re.findall(r"\bAR_[A-Z0-9_]+", deployment))):
            for name, binary in SERVICES.items():
                self.check_setting(f"{chart_dir}/templates/services.yaml", binary, variable)
        if 'AR_{{ $other | upper | replace "-" "_" }}_ADDRESS' in deployment:
            for name in SERVICES:
                if name != "gateway":
                    self.check_setting(f"{chart_dir}/templates/services.yaml", "ar-gateway",
                                       "AR_" + name.upper().replace("-", "_") + "_ADDRESS")
        else:
            self.problem(f"{chart_dir}/templates/services.yaml",
                         "does not give the gateway the services' addresses")
        self.check_deployment_template(f"{chart_dir}/templates/services.yaml", deployment)

        # The clock: one replica whatever the values say, Recreate.
        if not re.search(r'if eq \$name "clock" \}\}\s*(#.*\n\s*)*replicas: 1\s*\n\s*strategy:'
                         r'\s*\n\s*type: Recreate', deployment):
            self.problem(f"{chart_dir}/templates/services.yaml",
                         "must pin the clock to `replicas: 1` with the Recreate strategy")

        # Security context.
        pod, container = values.get("podSecurityContext") or {}, values.get("securityContext") or {}
        if pod.get("runAsNonRoot") is not True or not pod.get("runAsUser"):
            self.problem(where, "podSecurityContext wants runAsNonRoot: true and a runAsUser")
        if getattr(self, "image_uid", None) and pod.get("runAsUser") != self.image_uid:
            self.problem(where, f"runAsUser {pod.get('runAsUser')} is not the image's USER "
                                f"{self.image_uid}")
        if container.get("readOnlyRootFilesystem") is not True or \
                container.get("allowPrivilegeEscalation") is not False or \
                "ALL" not in ((container.get("capabilities") or {}).get("drop") or []):
            self.problem(where, "securityContext wants readOnlyRootFilesystem: true, "
                                "allowPrivilegeEscalation: false and capabilities.drop [ALL]")
        grace = values.get("terminationGracePeriodSeconds")
        if not isinstance(grace, int) or grace <= self.max_shutdown():
            self.problem(where, f"terminationGracePeriodSeconds {grace} does not outwait the "
                                f"{self.max_shutdown()}s graceful shutdown")

        # Policies: the chart's copies equal config/.
        for policy in ("credit_policy.textproto", "collections.textproto"):
            copy = f"{chart_dir}/files/{policy}"
            if not os.path.exists(os.path.join(self.root, copy)):
                self.problem(chart_dir, f"has no {copy}")
            elif self.read(copy) != self.read(f"config/{policy}"):
                self.problem(copy, f"differs from config/{policy}")
            if policy not in config_keys or f'files/{policy}' not in configmap:
                self.problem(f"{chart_dir}/templates/configmap.yaml", f"does not carry {policy}")
        secret = templates["secret.yaml"]
        for key in set(re.findall(r"key: ([\w-]+)\n", deployment)) - config_keys - \
                {k for k in re.findall(r"^  ([\w-]+):", secret, re.M)}:
            self.problem(f"{chart_dir}/templates/services.yaml", f"reads key {key} that neither "
                                                                  "the ConfigMap nor the Secret has")
        if "name: {{ include \"ar-suite.fullname\" . }}-gateway" not in templates["hpa.yaml"] or \
                "HorizontalPodAutoscaler" not in templates["hpa.yaml"]:
            self.problem(f"{chart_dir}/templates/hpa.yaml", "wants a HorizontalPodAutoscaler "
                                                             "of the gateway Deployment")
        if "PodDisruptionBudget" not in templates["pdb.yaml"]:
            self.problem(f"{chart_dir}/templates/pdb.yaml", "wants PodDisruptionBudgets")

    def template_env(self, template, values):
        """The `- name: AR_X` + `value: ...` pairs of a template, simple values rendered."""
        env = {}
        for match in re.finditer(r"- name: (AR_[A-Z0-9_]+)\n\s+value: (.*)\n", template):
            value = match.group(2).strip()

            def lookup(m):
                node = values
                for part in m.group(1).split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                return "" if node is None else str(node)

            value = re.sub(r"\{\{-?\s*\$?\.Values\.([\w.]+)(?:\s*\|\s*quote)?\s*-?\}\}", lookup,
                           value)
            env[match.group(1)] = value.strip('"')
        return env

    def check_deployment_template(self, where, text):
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if not re.search(probe + r":\n\s+grpc:\n\s+port: \{\{ \$svc\.port \}\}", text):
                self.problem(where, f"wants a {probe} with grpc: port: {{{{ $svc.port }}}}")
        for needed in (r"containerPort: \{\{ \$svc\.port \}\}",
                       r'value: "0\.0\.0\.0:\{\{ \$svc\.port \}\}"',
                       r"\n      port: \{\{ \$svc\.port \}\}\n      targetPort: grpc",
                       r"resources:\n\s+\{\{- toYaml \$svc\.resources",
                       r"securityContext:\n\s+\{\{- toYaml \$\.Values\.securityContext",
                       r"securityContext:\n\s+\{\{- toYaml \$\.Values\.podSecurityContext",
                       r"emptyDir:", r"kind: Deployment", r"kind: Service\n"):
            if not re.search(needed, text):
                self.problem(where, f"wants {needed.replace(chr(92), '')!r}")
        for match in re.finditer(r"(?:containerPort|port):\s*(\S.*)", text):
            if match.group(1) not in ("{{ $svc.port }}",):
                self.problem(where, f"a port set to {match.group(1)!r}, not the service's port")

    def check_template_syntax(self, where, text, values):
        actions = re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.S)
        if text.count("{{") != text.count("}}") or text.count("{{") != len(actions):
            self.problem(where, "unbalanced {{ }}")
        depth = 0
        for action in actions:
            word = action.split()[0] if action.split() else ""
            if word in ("if", "range", "with", "define", "block"):
                depth += 1
            elif word == "end":
                depth -= 1
                if depth < 0:
                    break
        if depth != 0:
            self.problem(where, f"{'more' if depth > 0 else 'fewer'} blocks opened than ended")
        for reference in re.findall(r"\$?\.Values\.([\w.]+)", text):
            node = values
            for part in reference.split("."):
                if not isinstance(node, dict) or part not in node:
                    self.problem(where, f".Values.{reference} is not in values.yaml")
                    break
                node = node[part]
        service_keys = set()
        for service in (values.get("services") or {}).values():
            service_keys |= set(service or {})
        for key in re.findall(r"\$svc\.(\w+)", text):
            if key not in service_keys:
                self.problem(where, f"$svc.{key} is no key of any values.services entry")

    def run(self):
        for check in (self.check_binaries, self.check_dockerfile, self.check_compose,
                      self.check_systemd, self.check_chart):
            try:
                check()
            except (OSError, RuntimeError, subprocess.SubprocessError, yaml.YAMLError, KeyError,
                    TypeError, AttributeError) as error:
                self.problem(check.__name__, f"{type(error).__name__}: {error}")
        return self.problems


# Each entry breaks one file in a copy of the tree; the check must say so, naming `expect`.
MUTATIONS = [
    ("deploy/docker-compose.yml", "AR_AUTO_APPLY_UNAPPLIED_CASH: \"true\"",
     "AR_AUTO_APPLY_UNAPPLIED_CASH: \"true\"\n      AR_NO_SUCH_SETTING: x", "AR_NO_SUCH_SETTING"),
    ("deploy/docker-compose.yml", "AR_LISTEN: 0.0.0.0:50064", "AR_LISTEN: 0.0.0.0:50099",
     "listens on port 50064"),
    ("deploy/docker-compose.yml", "AR_TOPIC_PARTITIONS: \"8\"\n  AR_STORE",
     "AR_TOPIC_PARTITIONS: \"eight\"\n  AR_STORE", "refuses"),
    ("deploy/docker-compose.yml", "  redis:\n    condition: service_healthy",
     "  redis:\n    condition: service_started", "service_healthy"),
    ("deploy/docker-compose.yml", "\"127.0.0.1:50062\", \"health\"",
     "\"127.0.0.1:50061\", \"health\"", "health check"),
    ("deploy/docker-compose.yml", "AR_CLOCK_ADDRESS: ar-clock:50065",
     "AR_CLOCK_ADDRESS: ar-clock:50064", "AR_CLOCK_ADDRESS"),
    ("deploy/docker/Dockerfile", "      tools/demo/ar-demo; do", "      ; do", "ships"),
    ("deploy/docker/Dockerfile", "ar_gateway arctl ar_demo", "ar_gateway arctl", "builds targets"),
    ("deploy/docker/Dockerfile", "librdkafka1 ", "", "librdkafka1"),
    ("deploy/docker/Dockerfile", "AR_DATA_DIR=", "AR_DATA_DIRECTORY=", "AR_DATA_DIRECTORY"),
    ("deploy/systemd/ar-payments.service", "ExecStart=/usr/local/bin/ar-payments",
     "ExecStart=/usr/local/bin/ar-payments --no_such_flag=1", "no_such_flag"),
    ("deploy/systemd/ar-clock.service", "TimeoutStopSec=30s", "TimeoutStopSec=5s",
     "TimeoutStopSec"),
    ("deploy/systemd/ar-gateway.service", "ProtectSystem=strict", "ProtectSytem=strict",
     "ProtectSystem"),
    ("deploy/systemd/ar-suite.env", "AR_REGIONS=", "AR_REGION=", "AR_REGION"),
    ("helm/ar-suite/values.yaml", "port: 50064", "port: 50065", "port 50065"),
    ("helm/ar-suite/values.yaml", "AR_READ_WAIT_TIMEOUT: 5s", "AR_READ_WAIT_TIMEOUT: 5 secs",
     "refuses"),
    ("helm/ar-suite/values.yaml", "AR_DOWNSTREAM_TIMEOUT: 30s", "AR_DOWNSTREAM_TIMEOUTS: 30s",
     "AR_DOWNSTREAM_TIMEOUTS"),
    ("helm/ar-suite/values.yaml", "        memory: 128Mi\n", "", "resources.requests.memory"),
    ("helm/ar-suite/values.yaml", "    port: 50065\n    store: true\n",
     "    port: 50065\n    replicas: 2\n    store: true\n", "exactly one replica"),
    ("helm/ar-suite/templates/services.yaml", "          readinessProbe:",
     "          readinessProbes:", "readinessProbe"),
    ("helm/ar-suite/templates/services.yaml", "value: {{ $.Values.kafka.brokers | quote }}",
     "value: {{ $.Values.kafka.bootstrap | quote }}", ".Values.kafka.bootstrap"),
    ("helm/ar-suite/templates/services.yaml", "- name: AR_REDIS_KEY_PREFIX",
     "- name: AR_REDIS_KEYPREFIX", "AR_REDIS_KEYPREFIX"),
    ("helm/ar-suite/templates/services.yaml", "  replicas: 1\n  strategy:",
     "  replicas: 2\n  strategy:", "replicas: 1"),
    ("helm/ar-suite/templates/secret.yaml", "{{- end }}", "", "blocks"),
    ("helm/ar-suite/files/collections.textproto", "version:", "version :", "differs"),
    ("helm/ar-suite/templates/NOTES.txt", "--customers=500", "--customer=500", "--customer:"),
    ("deploy/docker/Dockerfile", "exec arctl --timeout 3s", "exec arctl --deadline 3s",
     "--deadline"),
    ("deploy/docker/Dockerfile", "CMD [\"ar-suite\", \"--listen=", "CMD [\"ar-suite\", \"--address=",
     "--address"),
    ("deploy/docker-compose.yml", "[\"CMD\", \"arctl\", \"--timeout\"",
     "[\"CMD\", \"arctl\", \"--time-out\"", "--time-out"),
]


def selftest(root, binaries):
    scratch = tempfile.mkdtemp(prefix="check_deploy_selftest.")
    failures = []
    try:
        def fresh_copy():
            copy = os.path.join(scratch, "tree")
            shutil.rmtree(copy, ignore_errors=True)
            for part in ("deploy/docker", "deploy/systemd", "helm", "config"):
                shutil.copytree(os.path.join(root, part), os.path.join(copy, part))
            for part in ("deploy/docker-compose.yml", ".dockerignore"):
                shutil.copy(os.path.join(root, part), os.path.join(copy, part))
            return copy

        baseline = Checker(fresh_copy(), binaries).run()
        if baseline:
            failures.append("the unchanged copy fails:\n  " + "\n  ".join(baseline))
        for path, old, new, expect in MUTATIONS:
            copy = fresh_copy()
            with open(os.path.join(copy, path), encoding="utf-8") as f:
                text = f.read()
            if old not in text:
                failures.append(f"mutation of {path}: {old!r} is no longer in the file")
                continue
            with open(os.path.join(copy, path), "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
            problems = Checker(copy, binaries).run()
            if not any(expect in p for p in problems):
                failures.append(f"{path}: {old!r} -> {new!r} was not caught (expected a "
                                f"problem naming {expect!r}; got {len(problems)}: "
                                f"{problems[:5]})")
    finally:
        shutil.rmtree(scratch)
    for failure in failures:
        print("SELFTEST FAILED:", failure)
    if not failures:
        print(f"check_deploy selftest: {len(MUTATIONS)} broken copies, each caught")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--binary", action="append", default=[], metavar="TARGET=PATH")
    parser.add_argument("--selftest", action="store_true")
    args = parser.parse_args()
    targets = dict(b.split("=", 1) for b in args.binary)
    binaries = Binaries(targets)
    if args.selftest:
        return selftest(args.root, binaries)
    problems = Checker(args.root, binaries).run()
    for problem in problems:
        print("PROBLEM:", problem)
    if problems:
        print(f"check_deploy: {len(problems)} problems")
        return 1
    print("check_deploy: Dockerfile, compose, systemd units and the Helm chart agree with "
          f"the {len(targets)} binaries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
