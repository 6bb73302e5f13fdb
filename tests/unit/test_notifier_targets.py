"""Webhooks go only to public addresses, unless the deployment allows private ones."""

import ipaddress

import pytest

from notifier.webhooks.subscriptions import check_secret, masked, new_secret
from notifier.webhooks.targets import UnsafeTarget, refusal, resolve


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.10", "private"),
    ("172.16.5.4", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"), ("100.64.0.1", "non-public"), ("fc00::1", "private"),
])
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("url", ["http://localhost:8080/hook", "http://127.0.0.1/hook", "https://[::1]/x",
                                 "http://169.254.169.254/latest/meta-data", "http://10.0.0.7/hook"])
async def test_urls_that_resolve_to_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget, match="webhooks go only to public addresses"):
        await resolve(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://93.184.215.14/x", "file:///etc/passwd", "http://user:pw@93.184.215.14/",
                                 "not a url", "http:///nohost", "https://93.184.215.14:0/hook"])
async def test_only_plain_http_and_https_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await resolve(url, allow_private=True)


async def test_a_deployment_may_allow_private_targets_for_tests_and_demos() -> None:
    target = await resolve("http://localhost:8080/hook?x=1", allow_private=True)
    assert target.url.host in ("127.0.0.1", "::1") and target.url.port == 8080 and target.url.path == "/hook"
    assert target.netloc == "localhost:8080" and target.extensions == {"sni_hostname": b"localhost"}


async def test_the_send_goes_to_the_address_that_was_checked() -> None:
    target = await resolve("https://93.184.215.14/hook", allow_private=False)
    assert str(target.url) == "https://93.184.215.14/hook"


def test_secrets_are_standard_webhooks_secrets() -> None:
    secret = new_secret()
    check_secret(secret)
    assert masked(secret) == f"whsec_…{secret[-4:]}"
    for bad in ("plain-text", "whsec_not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError, match=r"secret|base64"):
            check_secret(bad)
