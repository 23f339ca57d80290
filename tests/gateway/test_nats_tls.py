"""NATS over TLS: the gateway trusts ``natsRootCAs`` and shows ``natsCert``/``natsKey`` to the server."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command

from res_gateway.conf import GatewaySettings
from res_gateway.gateway import nats_client
from tests.gateway.common import value
from tests.harness import Client, NatsWire, Service, run_gateway
from tests.support import NatsServer


@dataclass
class Pki:
    """A throwaway CA and the PEM files it signed, in one directory."""

    dir: Path

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def paths(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` with its file names (and lists of them) made paths in the directory."""
        return {
            k: [self.path(p) for p in v] if isinstance(v, list) else self.path(v) for k, v in config.items()
        }


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _issue(name: str, issuer: x509.Name, signer: Any, key: Any, *, ca: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def make_pki(directory: Path, names: tuple[str, ...]) -> None:
    """``ca.pem`` and, for each name, ``<name>.pem`` and ``<name>-key.pem`` signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = _issue("test CA", ca_name, ca_key, ca_key, ca=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        _write_key(directory / f"{name}-key.pem", key)
        cert = _issue(name, ca_name, ca_key, key)
        (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    make_pki(directory, ("server", "client"))
    (directory / "other").mkdir()
    make_pki(directory / "other", ("client",))  # signed by a CA the server does not trust
    return Pki(directory)


@pytest.fixture(scope="module")
def tls_nats(pki: Pki) -> Iterator[NatsServer]:
    """A nats-server that requires TLS and a client certificate signed by the test CA."""
    server = NatsServer(
        extra=[
            "--tlsverify",
            "--tlscert", pki.path("server.pem"),
            "--tlskey", pki.path("server-key.pem"),
            "--tlscacert", pki.path("ca.pem"),
        ]
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
async def tls_service(pki: Pki, tls_nats: NatsServer) -> Any:
    context = ssl.create_default_context(cafile=pki.path("ca.pem"))
    context.load_cert_chain(pki.path("client.pem"), pki.path("client-key.pem"))
    svc = Service(NatsWire(await nats.connect(tls_nats.url, tls=context, allow_reconnect=False)))
    await svc.listen("get.>")
    await svc.listen("access.>")
    yield svc
    await svc.close()


async def test_gateway_reaches_services_over_tls(
    pki: Pki, tls_nats: NatsServer, tls_service: Service
) -> None:
    gw = run_gateway(
        tls_nats.url,
        natsRootCAs=[pki.path("ca.pem")],
        natsCert=pki.path("client.pem"),
        natsKey=pki.path("client-key.pem"),
    )
    try:
        client = await Client.connect(gw.ws_url)
        pending = client.send("subscribe.test.model")
        reqs = [await tls_service.get_request(), await tls_service.get_request()]
        for req in reqs:
            if req.kind == "access":
                await req.respond_access(get=True)
            else:
                await req.respond_model(value("test.model"))
        assert await pending.result() == {"models": {"test.model": value("test.model")}}
        await client.close()
    finally:
        gw.stop()


# (TLS settings, given relative to the PKI directory): each leaves out something the server requires
REFUSED = [
    pytest.param({"natsCert": "client.pem", "natsKey": "client-key.pem"}, id="server CA not trusted"),
    pytest.param({"natsRootCAs": ["ca.pem"]}, id="no client certificate"),
    pytest.param(
        {"natsRootCAs": ["ca.pem"], "natsCert": "other/client.pem", "natsKey": "other/client-key.pem"},
        id="client certificate from another CA",
    ),
]


@pytest.mark.parametrize("tls", REFUSED)
async def test_gateway_without_what_the_server_requires_refuses_clients(
    pki: Pki, tls_nats: NatsServer, tls: dict[str, Any]
) -> None:
    config = pki.paths(tls)
    gw = run_gateway(tls_nats.url, requestTimeout=500, **config)
    try:
        with pytest.raises(websockets.InvalidStatus):
            await Client.connect(gw.ws_url)
    finally:
        gw.stop()


@pytest.mark.parametrize(
    ("flags", "key"),
    [(["--natsrootca"], "natsRootCAs"), (["--natscert", "--natskey"], "natsCert")],
)
def test_unreadable_tls_file_is_refused_in_one_line(tmp_path: Path, flags: list[str], key: str) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(CommandError) as raised:
        call_command("rungateway", *[arg for flag in flags for arg in (flag, missing)])
    message = str(raised.value)
    assert key in message and missing in message and "\n" not in message


async def test_unreadable_root_ca_in_settings_is_logged_and_clients_refused(
    tmp_path: Path, tls_nats: NatsServer
) -> None:
    missing = str(tmp_path / "missing-ca.pem")
    gw = run_gateway(tls_nats.url, asgi_only=True, natsRootCAs=[missing])  # rungateway exits instead
    try:
        with pytest.raises(websockets.InvalidStatus):
            await Client.connect(gw.ws_url)
        assert f"invalid natsRootCAs setting ({missing!r}): cannot load the CA file" in gw.output()
    finally:
        gw.stop()


@pytest.mark.parametrize(
    ("config", "options"),
    [
        ({}, set()),
        ({"natsCreds": "user.creds"}, {"user_credentials"}),
        ({"natsRootCAs": ["ca.pem"]}, {"tls"}),
        (
            {"natsCreds": "user.creds", "natsCert": "client.pem", "natsKey": "client-key.pem"},
            {"user_credentials", "tls"},
        ),
    ],
)
def test_settings_become_connect_options(pki: Pki, config: dict[str, Any], options: set[str]) -> None:
    config = pki.paths(config)
    client = nats_client(GatewaySettings.from_config(config))
    assert set(client.options) == options
    assert client.options.get("user_credentials", pki.path("user.creds")) == pki.path("user.creds")
