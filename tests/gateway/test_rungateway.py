"""``manage.py rungateway``: resgate's flags, the config file, precedence, errors, serving and stopping."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from res_gateway.conf import RESGATE_DEFAULTS
from res_gateway.management.commands.rungateway import Command, flag_overrides, set_log_levels
from tests.gateway.running import StartGateway
from tests.harness import Client
from tests.support import ROOT, free_port, port_open


def parse_flags(*args: str) -> dict[str, Any]:
    options = vars(Command().create_parser("manage.py", "rungateway").parse_args(list(args)))
    return flag_overrides(options)


# (command line, config keys it sets)
FLAGS = [
    ([], {}),
    (["-n", "nats://10.0.0.1:4222"], {"natsUrl": "nats://10.0.0.1:4222"}),
    (["--nats", "nats://h:1"], {"natsUrl": "nats://h:1"}),
    (["-i", "127.0.0.1"], {"addr": "127.0.0.1"}),
    (["--addr", ""], {"addr": ""}),
    (["-p", "9000"], {"port": 9000}),
    (["--port", "0"], {}),  # 0 leaves the configured port
    (["-w", "/ws"], {"wsPath": "/ws"}),
    (["-a", "/rest"], {"apiPath": "/rest"}),
    (["-r", "500"], {"requestTimeout": 500}),
    (["--reqtimeout", "5"], {"requestTimeout": 5}),
    (["-u", "auth.user.login"], {"headerAuth": "auth.user.login"}),
    (["--headauth", ""], {"headerAuth": None}),  # empty unsets
    (["-t", "auth.user.ws"], {"wsHeaderAuth": "auth.user.ws"}),
    (["--wsheadauth", ""], {"wsHeaderAuth": None}),
    (["-m", "9100"], {"metricsPort": 9100}),
    (["--metricsport", "0"], {}),
    (["--apiencoding", "jsonflat"], {"apiEncoding": "jsonflat"}),
    (["--putmethod", "set"], {"putMethod": "set"}),
    (["--putmethod", ""], {"putMethod": None}),
    (["--deletemethod", "delete"], {"deleteMethod": "delete"}),
    (["--patchmethod", "patch"], {"patchMethod": "patch"}),
    (["--wscompression"], {"wsCompression": True}),
    (["--resetthrottle", "4"], {"resetThrottle": 4}),
    (["--referencethrottle", "2"], {"referenceThrottle": 2}),
    (["--tls", "--tlscert", "c.pem", "--tlskey", "k.pem"],
     {"tls": True, "certFile": "c.pem", "keyFile": "k.pem"}),
    (["--creds", "u.creds"], {"natsCreds": "u.creds"}),
    (["--natscert", "c.pem", "--natskey", "k.pem"], {"natsCert": "c.pem", "natsKey": "k.pem"}),
    (["--natsrootca", "a.pem", "--natsrootca", "b.pem"], {"natsRootCAs": ["a.pem", "b.pem"]}),
    (["--alloworigin", "http://a.io", "--alloworigin", "https://b.io"], {"allowOrigin": "http://a.io;https://b.io"}),
    (["-D"], {"debug": True}),
    (["--trace"], {"trace": True}),
    (["-DV"], {"debug": True, "trace": True}),
    (["--server", "daphne"], {"server": "daphne"}),
]  # fmt: skip


@pytest.mark.parametrize(("args", "expected"), FLAGS)
def test_flags_set_resgate_keys(args: list[str], expected: dict[str, Any]) -> None:
    assert parse_flags(*args) == expected


@pytest.fixture
def restore_log_levels() -> Iterator[None]:
    loggers = [logging.getLogger("res_gateway"), logging.getLogger("res_gateway.trace")]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_log_levels(restore_log_levels: None) -> None:
    gateway, trace = logging.getLogger("res_gateway"), logging.getLogger("res_gateway.trace")
    set_log_levels(debug=False, trace=True)
    assert (gateway.isEnabledFor(logging.DEBUG), trace.isEnabledFor(logging.DEBUG)) == (False, True)
    set_log_levels(debug=True, trace=False)
    assert (gateway.isEnabledFor(logging.DEBUG), trace.isEnabledFor(logging.DEBUG)) == (True, False)
    set_log_levels(debug=False, trace=False)
    assert not gateway.isEnabledFor(logging.DEBUG) and gateway.isEnabledFor(logging.INFO)


def run_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command to completion (for arguments that stop it before it serves)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "rungateway", *args],
        cwd=ROOT,
        env={**os.environ, "RES_GATEWAY": "{}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


# (arguments, text the error line must hold)
BAD_FLAGS = [
    (["--port", "70000"], "70000"),
    (["-p", "x"], "'x'"),
    (["-p", "-1"], "-1"),
    (["--metricsport", "8080"], "8080"),  # same as the default API port
    (["-p", "9000", "-m", "9000"], "9000"),
    (["-i", "127.0.0"], "127.0.0"),
    (["--addr", "localhost"], "localhost"),
    (["-r", "-5"], "-5"),
    (["--reqtimeout", "3s"], "3s"),
    (["-u", "auth"], "'auth'"),
    (["--wsheadauth", "auth.x?y=1.login"], "auth.x?y=1.login"),
    (["--apiencoding", "xml"], "xml"),
    (["--putmethod", "a.b"], "a.b"),
    (["--deletemethod", "a b"], "a b"),
    (["--patchmethod", "x.y"], "x.y"),
    (["--resetthrottle", "-1"], "-1"),
    (["--referencethrottle", "many"], "many"),
    (["--alloworigin", "http://a.io/path"], "http://a.io/path"),
    (["--alloworigin", "*", "--alloworigin", "http://a.io"], "*;http://a.io"),
    (["--alloworigin", ""], "''"),
    (["--server", "gunicorn"], "gunicorn"),
    (["--tls"], "--tls"),
]


@pytest.mark.parametrize(("args", "text"), BAD_FLAGS)
def test_bad_flag_is_refused_in_one_line(args: list[str], text: str) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("rungateway", *args)
    assert text in str(raised.value) and "\n" not in str(raised.value)


# (config file text, text the error line must hold)
BAD_FILES = [
    ('{"port": "x"}', "'x'"),
    ('{"allowOrigin": "http://a.io;"}', "http://a.io;"),
    ('{"natsUrl": "nats://x", }', "Error parsing config file"),
    ("[]", "expected a JSON object"),
    ('{"tlsCert": "c.pem"}', "tlsCert"),  # resgate's README spells it so; the key is certFile
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_config_file_is_refused_in_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "resgate.json"
    path.write_text(text)
    with pytest.raises(CommandError) as raised:
        call_command("rungateway", "--config", str(path))
    assert expected in str(raised.value) and "\n" not in str(raised.value)
    assert path.read_text() == text


@override_settings(RES_GATEWAY=["natsUrl"])
def test_settings_that_are_not_a_dict_are_refused() -> None:
    with pytest.raises(CommandError, match="RES_GATEWAY must be a dict"):
        call_command("rungateway")


@pytest.mark.parametrize(
    ("args", "file_text", "text"),
    [(["--port", "70000"], None, "70000"), ([], '{"allowOrigin": "http://a.io;*"}', "http://a.io;*")],
)
def test_command_line_error_exits_non_zero_with_one_line(
    tmp_path: Path, args: list[str], file_text: str | None, text: str
) -> None:
    if file_text is not None:
        path = tmp_path / "resgate.json"
        path.write_text(file_text)
        args = [*args, "--config", str(path)]
    result = run_command(*args)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("CommandError: "), result.stderr
    assert text in result.stderr
    assert result.stdout == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("rungateway", "--version")
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == "resgate v1.8.0, protocol v1.2.3"


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_port_in_use_exits_non_zero(server: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_command("--server", server, "-i", "127.0.0.1", "-p", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("CommandError: Failed to start server: ")
    assert "Traceback" not in result.stderr


# --- running gateways ---------------------------------------------------------------------------------


def test_missing_config_file_is_written_with_the_config_in_use(
    rungateway: StartGateway, tmp_path: Path, nats_url: str
) -> None:
    path = tmp_path / "sub" / "resgate.json"
    path.parent.mkdir()
    gateway = rungateway("-c", str(path), "--wscompression")
    gateway.process.stop()
    written = json.loads(path.read_text())
    expected = {**RESGATE_DEFAULTS, "natsUrl": nats_url, "addr": "127.0.0.1", "port": gateway.port}
    assert written == {**expected, "wsCompression": True}
    assert list(written) == list(RESGATE_DEFAULTS)  # resgate's key order
    assert path.read_text().startswith('{\n\t"natsUrl"')
    assert path.stat().st_mode & 0o777 == 0o664


@pytest.mark.parametrize("where", ["settings", "file", "flag"])
def test_flags_override_file_overrides_settings(rungateway: StartGateway, tmp_path: Path, where: str) -> None:
    settings_port, file_port, flag_port = free_port(), free_port(), free_port()
    env = {"RES_GATEWAY": json.dumps({"addr": "127.0.0.1", "port": settings_port})}
    flags: list[str] = []
    path = tmp_path / "resgate.json"
    if where in ("file", "flag"):
        path.write_text(json.dumps({"addr": "127.0.0.1", "port": file_port}))
        flags += ["--config", str(path)]
    if where == "flag":
        flags += ["--port", str(flag_port)]
    expected = {"settings": settings_port, "file": file_port, "flag": flag_port}[where]
    rungateway(*flags, env=env, port=expected)
    assert [port_open(p) for p in (settings_port, file_port, flag_port) if p != expected] == [False, False]
    if where != "settings":
        assert json.loads(path.read_text()) == {"addr": "127.0.0.1", "port": file_port}  # read, not rewritten


@pytest.mark.parametrize(("server", "sig"), [("uvicorn", signal.SIGTERM), ("daphne", signal.SIGINT)])
async def test_serves_http_and_websocket_and_stops_on_signal(
    rungateway: StartGateway, server: str, sig: signal.Signals
) -> None:
    gateway = rungateway("--server", server, "-DV")
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{gateway.url}/api/test/model")).status_code in (404, 408, 500, 503, 504)
    client = await Client.connect(gateway.ws_url)
    response = await client.request("version", {"protocol": "1.2.3"})
    assert response == {"id": 1, "result": {"protocol": "1.2.3"}}
    gateway.process.proc.send_signal(sig)
    await client.wait_closed(10)  # the gateway closes the WebSocket on its way down
    assert await asyncio.to_thread(gateway.process.proc.wait, 15) == 0
    output = gateway.output()
    assert f"with {server} on http://127.0.0.1:{gateway.port}" in output
    assert "DEBUG res_gateway: Config: " in output  # -DV turned debug on
    assert "Gateway stopped" in output
    assert not port_open(gateway.port)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key: (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
async def test_tls_serves_https_wss_and_metrics(
    rungateway: StartGateway, certificate: tuple[Path, Path], server: str
) -> None:
    cert_file, key_file = certificate
    metrics_port = free_port()
    flags = ["--server", server, "--tls", "--tlscert", str(cert_file), "--tlskey", str(key_file)]
    gateway = rungateway(*flags, metrics_port=metrics_port)
    trust = ssl.create_default_context(cafile=str(cert_file))
    async with httpx.AsyncClient(verify=trust) as https:
        metrics = await https.get(f"https://127.0.0.1:{metrics_port}/metrics")
        assert metrics.status_code == 200 and metrics.text.endswith("# EOF\n")
        assert (await https.get(f"https://127.0.0.1:{gateway.port}/api/")).status_code < 500
    client = await Client.connect(f"wss://127.0.0.1:{gateway.port}/", ssl=trust)
    try:
        response = await client.request("version", {"protocol": "1.2.3"})
        assert response["result"] == {"protocol": "1.2.3"}
    finally:
        await client.close()
    assert f"with {server} on https://127.0.0.1:{gateway.port}" in gateway.output()
