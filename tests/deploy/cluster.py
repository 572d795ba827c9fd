"""A deployment on this machine: nginx from Debian's package in front of N `redgrid run`
workers on one PostgreSQL database, as deploy/ ships it.

The nginx configuration is deploy/nginx/redgrid.conf itself with only what a test must change:
the workers' ports, a loopback port for the TLS server (with a self-signed certificate made
here), the plain-HTTP redirect server left out, logs and temporary files in the test's folder.
Every location, header, timeout and retry rule is the shipped one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "deploy" / "nginx" / "redgrid.conf"
DEMO = ROOT / "data" / "demo-jimo.yaml"
SECRET = "deployment-test-session-secret-0123456789abcdef"


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, often not on a user's PATH), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the configuration ------------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level `name ... { ... }` block."""
    spans, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = text.rfind("\n", 0, index) + 1
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                spans.append((start, index + 1))
    return spans


def site_config(
    shipped: str, *, workers: list[int], port: int, cert: Path, key: Path, logs: Path
) -> str:
    """The shipped site with the test's ports, certificate and log folder."""
    kept = []
    for start, end in _blocks(shipped):
        block = shipped[start:end]
        if re.search(r"^\s*listen 80;", block, re.M):
            continue  # the ACME and redirect server: nothing to test on loopback
        kept.append(block)
    site = "\n\n".join(kept)
    upstream_line = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+ (.*);$", re.M)
    template = upstream_line.search(site)
    assert template, "the shipped upstream names no worker"
    indent, options = template.group(1), template.group(2)
    servers = "".join(f"{indent}server 127.0.0.1:{w} {options};\n" for w in workers)
    site = upstream_line.sub("", site)
    site = site.replace("upstream redgrid_workers {\n", "upstream redgrid_workers {\n" + servers)
    site = re.sub(r"^\s*listen \[::\]:443[^;]*;\n", "", site, flags=re.M)
    site = re.sub(r"listen 443 ", f"listen 127.0.0.1:{port} ", site)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = re.sub(r"access_log\s+\S+;", f"access_log {logs / 'access.log'};", site)
    return re.sub(r"error_log\s+\S+;", f"error_log {logs / 'error.log'};", site)


def main_config(site: str, workdir: Path) -> str:
    """nginx.conf around the site: in the foreground, everything in `workdir`."""
    temp = "".join(
        f"    {name}_temp_path {workdir / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (
        f"daemon off;\n{user}worker_processes 1;\npid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n{temp}    access_log off;\n{site}\n}}\n"
    )


def self_signed(workdir: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, valid for a day, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "cert.pem", workdir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --- the processes ----------------------------------------------------------------------------


def worker_env(url: str, port: int, workdir: Path, **extra: str) -> dict[str, str]:
    """What redgrid.env and redgrid@.service give a worker, for this test."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDGRID_CONFIG": str(workdir / "no-config.yaml"),
        "REDGRID_DATABASE__URL": url,
        "REDGRID_WEB__HOST": "127.0.0.1",
        "REDGRID_WEB__PORT": str(port),
        "REDGRID_WEBCHAT__SESSION_SECRET": SECRET,
        "REDGRID_WEBCHAT__UPLOAD_DIR": str(workdir / "uploads"),
        # No quiet hours: what is delivered must not depend on the time of day.
        "REDGRID_OUTBOX__QUIET_START": "00:00",
        "REDGRID_OUTBOX__QUIET_END": "00:00",
        **extra,
    }


def prepare_database(url: str, workdir: Path) -> None:
    """What redgrid-migrate.service does, and the demo district imported."""
    env = worker_env(url, 8080, workdir)
    for argv in (["db", "upgrade"], ["org", "import", str(DEMO), "--if-empty"]):
        subprocess.run(
            [sys.executable, "-m", "bot", *argv],
            cwd=workdir,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )  # CalledProcessError carries stderr


@dataclass
class Worker:
    port: int
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


@dataclass
class Deployment:
    """nginx and its workers; `url` is the https address of the proxy."""

    db_url: str
    workdir: Path
    worker_count: int = 3
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    port: int = 0
    nginx: asyncio.subprocess.Process | None = None
    cert: Path | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        (self.workdir / "uploads").mkdir(parents=True, exist_ok=True)
        self.workers = [Worker(free_port()) for _ in range(self.worker_count)]
        await asyncio.gather(*(self.start_worker(w) for w in self.workers))
        await self.start_nginx()

    async def start_worker(self, worker: Worker) -> None:
        worker.starts += 1
        log = (self.workdir / f"worker-{worker.port}-{worker.starts}.log").open("wb")
        env = worker_env(self.db_url, worker.port, self.workdir, **self.extra_env)
        worker.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.workdir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        await self.wait_healthy(worker)

    async def wait_healthy(self, worker: Worker, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not worker.alive:
                    raise RuntimeError(f"worker {worker.port} exited: {self.log_tail(worker)}")
                try:
                    response = await client.get(f"http://127.0.0.1:{worker.port}/healthz")
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"worker {worker.port} not healthy: {self.log_tail(worker)}")

    def log_tail(self, worker: Worker) -> str:
        path = self.workdir / f"worker-{worker.port}-{worker.starts}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    async def start_nginx(self) -> None:
        binary = nginx_binary()
        assert binary, "nginx is not installed"
        self.cert, key = self_signed(self.workdir)
        self.port = free_port()
        site = site_config(
            SHIPPED.read_text(),
            workers=[w.port for w in self.workers],
            port=self.port,
            cert=self.cert,
            key=key,
            logs=self.workdir,
        )
        conf = self.workdir / "nginx.conf"
        conf.write_text(main_config(site, self.workdir))
        check = await asyncio.create_subprocess_exec(
            binary, "-t", "-p", str(self.workdir), "-c", str(conf),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, errors = await check.communicate()
        assert check.returncode == 0, errors.decode()
        log = (self.workdir / "nginx.stderr").open("wb")
        self.nginx = await asyncio.create_subprocess_exec(
            binary, "-p", str(self.workdir), "-c", str(conf),
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        async with self.client() as client:
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                await asyncio.sleep(0.1)

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        """A client of the proxy that trusts its certificate."""
        assert self.cert is not None
        trust = ssl.create_default_context(cafile=str(self.cert))
        return httpx.AsyncClient(base_url=self.url, verify=trust, **kwargs)  # type: ignore[arg-type]

    async def stop_worker(self, worker: Worker, sig: int = signal.SIGTERM) -> int | None:
        assert worker.process is not None
        worker.process.send_signal(sig)
        try:
            return await asyncio.wait_for(worker.process.wait(), 30)
        except TimeoutError:
            worker.process.kill()
            return await worker.process.wait()

    async def stop(self) -> None:
        for worker in self.workers:
            if worker.alive:
                await self.stop_worker(worker)
        if self.nginx is not None and self.nginx.returncode is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                await asyncio.wait_for(self.nginx.wait(), 10)
            except TimeoutError:
                self.nginx.kill()
                await self.nginx.wait()
