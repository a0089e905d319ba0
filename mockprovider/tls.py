"""Certificates for the HTTPS listener: the user's own (``--tls-cert``/``--tls-key``), or a local CA that
mockprovider creates once (and reuses, so it is trusted once) and a server certificate it signs at each start for
127.0.0.1, ::1, localhost and the ``--tls-name`` names. Trust the CA with ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``
/ ``NODE_EXTRA_CA_CERTS``."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "mockprovider local CA"
CA_DAYS = 3650
CERT_DAYS = 397
DEFAULT_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TLSFiles:
    cert: Path  # the server certificate (with the CA after it, when we made both)
    key: Path
    ca: Path | None  # the CA to trust, when mockprovider generated it


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mockprovider" / "tls"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=30):
        return None  # about to expire: make a new one
    return cert, key


def _make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mockprovider")])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _san(names: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            out.append(x509.DNSName(name.lower()))
    return out


def _make_cert(names: list[str], ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
               ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(_san(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def check_names(names: list[str]) -> list[str]:
    """The ``--tls-name`` values, checked (a ValueError names a bad one)."""
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            label = name.lower().rstrip(".")
            if (len(label) > 253 or not label.isascii()
                    or not all(part and len(part) <= 63 and part.replace("-", "").replace("_", "").isalnum()
                               for part in label.removeprefix("*.").split("."))):
                raise ValueError(f"--tls-name {name!r} is neither an IP address nor a DNS name") from None
        out.append(name)
    return out


def generate(directory: Path, names: list[str]) -> TLSFiles:
    """Make (or reuse) the CA in ``directory`` and sign a fresh server certificate for the default names plus
    ``names``; the CA's key never leaves ``directory`` (mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path = directory / "ca.pem", directory / "ca-key.pem"
    loaded = _load_ca(ca_path, ca_key_path)
    if loaded is None:
        ca, ca_key = _make_ca()
        _write(ca_key_path, _pem_key(ca_key), private=True)
        _write(ca_path, ca.public_bytes(serialization.Encoding.PEM))
    else:
        ca, ca_key = loaded
    wanted = list(dict.fromkeys([*DEFAULT_NAMES, *check_names(names)]))
    cert, key = _make_cert(wanted, ca, ca_key)
    cert_path, key_path = directory / "server.pem", directory / "server-key.pem"
    _write(key_path, _pem_key(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    return TLSFiles(cert=cert_path, key=key_path, ca=ca_path)


def tls_files(cert: Path | None, key: Path | None, directory: Path | None, names: list[str]) -> TLSFiles:
    """The user's certificate and key if given (both, or neither), else generated ones; checked to load."""
    if (cert is None) != (key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    files = TLSFiles(cert=cert, key=key, ca=None) if cert is not None and key is not None else \
        generate(directory or default_dir(), names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot use the TLS certificate {files.cert} with key {files.key}: {exc}") from None
    return files
