"""Per-adapter TLS options: ``ca_bundle`` (a corporate TLS proxy's CA) and ``verify``, against a real HTTPS
server on 127.0.0.1 with a certificate made for the test."""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import runtrack
from runtrack.cli import main
from runtrack.testing import Response

from .servers import LANGSMITH_KEY, Hostile

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return crt, key


class _TLSHostile(Hostile):
    """A hostile server that speaks TLS: its socket is wrapped in the serving thread, before it is first watched
    (wrapping it after ``start()`` raced the thread, which could watch the detached socket and never serve)."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        super().__init__(lambda req: Response.json([]))
        self._ctx = ctx

    def _loop(self) -> None:
        assert self._httpd is not None
        self._httpd.socket = self._ctx.wrap_socket(self._httpd.socket, server_side=True)
        super()._loop()


@pytest.fixture
def https(cert: tuple[Path, Path]) -> Iterator[str]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    with _TLSHostile(ctx) as server:
        yield f"https://127.0.0.1:{server.port}"


def _read(base_url: str, **options: object) -> list[runtrack.Run]:
    with runtrack.connect("langsmith", base_url=base_url, api_key=LANGSMITH_KEY, max_retries=0, **options) as ad:
        return list(ad.runs(queue_id="q"))


def test_ca_bundle_verifies_a_private_ca(https: str, cert: tuple[Path, Path]) -> None:
    assert _read(https, ca_bundle=str(cert[0])) == []


def test_ca_bundle_wins_over_requests_ca_bundle_in_the_environment(
    https: str, cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    assert _read(https, ca_bundle=str(cert[0])) == []


def test_an_unknown_ca_fails_with_a_network_error(https: str) -> None:
    with pytest.raises(runtrack.NetworkError, match="SSL|certificate"):
        _read(https)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_works_and_warns_on_every_connect(https: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="runtrack"):
        assert _read(https, verify=False) == []
        assert _read(https, verify="false") == []
    warnings = [r for r in caplog.records if "TLS certificate verification is OFF" in r.getMessage()]
    assert len(warnings) == 2


def test_verify_false_and_ca_bundle_contradict(cert: tuple[Path, Path]) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="contradicts"):
        runtrack.connect("langsmith", api_key=LANGSMITH_KEY, verify=False, ca_bundle=str(cert[0]))


def test_the_config_takes_ca_bundle_and_loopback_http_keeps_working(
    https: str,
    cert: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGSMITH_API_KEY", LANGSMITH_KEY)
    with Hostile(lambda req: Response.json([])) as plain:
        path = tmp_path / "runtrack.toml"
        path.write_text(
            f'[[source]]\nname = "tls"\nadapter = "langsmith"\nbase_url = "{https}"\nca_bundle = "{cert[0]}"\n'
            'scope = { queue_id = "q" }\n'
            f'[[source]]\nname = "plain"\nadapter = "langsmith"\nbase_url = "{plain.base_url}"\n'
            'scope = { queue_id = "q" }\n'
        )
        assert main(["report", "--config", str(path), "--format", "json"]) == 0, capsys.readouterr().err
