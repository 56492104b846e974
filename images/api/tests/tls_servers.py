"""TLS for the tests: a throwaway CA and server certificates (the ``cryptography`` package), and real PostgreSQL /
Redis servers that speak only TLS, configured the way herd deploys them (PostgreSQL ``ssl=on`` with ``hostssl``
lines only; Redis ``tls-port`` with ``port 0`` and ``tls-auth-clients no``, password auth kept)."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from servers import AS_ROOT, PostgresServer, free_port, launch_postgres, postgres_bin_dir

# -- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ca:
    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca(directory: Path, name: str) -> Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{name}.crt"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Ca(name=name, cert=cert, key=key, cert_file=cert_file)


def server_cert(ca: Ca, directory: Path, name: str, dns_names: list[str], ips: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """A server certificate signed by ``ca`` for the given names; returns (cert file, key file), the key 0600."""
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


# -- PostgreSQL with TLS required ---------------------------------------------------------------


def start_tls_postgres(cert_file: Path, key_file: Path) -> PostgresServer:
    """PostgreSQL with ``ssl=on`` and a pg_hba that has ``hostssl`` lines only for TCP (no ``host``): a client that
    does not speak TLS is refused. The superuser keeps its Unix socket (for the test's own setup)."""
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="herd-api-pg-tls-"))
    (root / "sock").mkdir()
    tls_dir = root / "tls"
    tls_dir.mkdir()
    shutil.copy(cert_file, tls_dir / "server.crt")
    shutil.copy(key_file, tls_dir / "server.key")
    (tls_dir / "server.key").chmod(0o600)
    if AS_ROOT:
        for path in (root, root / "sock", tls_dir, tls_dir / "server.crt", tls_dir / "server.key"):
            shutil.chown(path, "postgres", "postgres")
    def hba_tls_only(server: PostgresServer) -> None:
        (server.data_dir / "pg_hba.conf").write_text(
            "# herd: TLS required for every TCP client (hostssl only, no host lines)\n"
            "local all postgres trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
        )

    return launch_postgres(
        PostgresServer(bin_dir=bin_dir, root=root, port=free_port()),
        host_auth="reject",
        extra_options=(
            f"-c ssl=on -c ssl_cert_file={tls_dir / 'server.crt'} -c ssl_key_file={tls_dir / 'server.key'}"
            " -c ssl_min_protocol_version=TLSv1.2"
        ),
        before_start=hba_tls_only,
        what="PostgreSQL with TLS",
    )


# -- Redis with TLS only ------------------------------------------------------------------------


@dataclass
class TlsRedis:
    port: int
    password: str
    root: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        path = self.root / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_tls_redis(cert_file: Path, key_file: Path, ca_file: Path, password: str = "herd-redis-tls-pw") -> TlsRedis:
    """``--tls-port <free> --port 0``: no plain-text port at all; clients are not asked for a certificate."""
    root = Path(tempfile.mkdtemp(prefix="herd-api-redis-tls-"))
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file), "--tls-ca-cert-file", str(ca_file),
         "--tls-auth-clients", "no", "--requirepass", password, "--save", "", "--appendonly", "no",
         "--dir", str(root), "--daemonize", "no", "--logfile", str(root / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = TlsRedis(port=port, password=password, root=root, process=process)
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            log = server.log()
            server.stop()
            raise RuntimeError(f"redis-server with TLS exited ({process.returncode}):\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                log = server.log()
                server.stop()
                raise RuntimeError(f"redis-server with TLS did not listen on {port}:\n{log}") from None
            time.sleep(0.05)
    return server

