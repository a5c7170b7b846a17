"""Hub names load from local files first and go to the network only when the hub can be reached (text `hub.py`),
so an offline machine gets the command's one error line at once instead of the hub client's retries."""

from __future__ import annotations

import socket

import pytest
from huggingface_hub import constants

from protdidi.cli import main
from protdidi.domains.text.hub import from_hub, hub_reachable


class Loader:
    """A stand-in for `from_pretrained`: records its calls; local-only calls fail unless `cached`."""

    def __init__(self, cached: bool):
        self.cached, self.calls = cached, []

    def __call__(self, spec, local_files_only=False):
        self.calls.append(local_files_only)
        if local_files_only and not self.cached:
            raise OSError(f"{spec} is not in the local cache")
        return f"loaded {spec}"


def unresolvable(*args, **kwargs):
    raise socket.gaierror(-2, "Name or service not known")


def test_a_cached_name_never_touches_the_network(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("network consulted"))
    load = Loader(cached=True)
    assert from_hub(load, "gpt2") == "loaded gpt2" and load.calls == [True]


@pytest.mark.parametrize("why", ["offline mode", "host does not resolve"])
def test_an_unreachable_hub_raises_the_local_failure_without_a_download_attempt(monkeypatch, why):
    if why == "offline mode":
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("offline mode ignored"))
    else:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    assert not hub_reachable()
    load = Loader(cached=False)
    with pytest.raises(OSError, match="not in the local cache"):
        from_hub(load, "gpt2")
    assert load.calls == [True]


def test_a_reachable_hub_is_tried_after_the_local_files(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [("resolved",)])
    load = Loader(cached=False)
    assert from_hub(load, "gpt2") == "loaded gpt2" and load.calls == [True, False]


def test_offline_text_evaluation_with_a_hub_evaluator_is_one_error_line(tmp_path, monkeypatch, capsys):
    """`evaluate --domain text` with the default evaluator (a hub name) on a machine without internet: exit 2,
    exactly one stderr line, no report."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    samples = tmp_path / "s.txt"
    samples.write_text("To be, or not to be, that is the question.\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--domain", "text", str(samples), "--evaluator", "surely-not-here/gpt2-xyz", "--quiet",
              "-o", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith("protdidi: error: evaluator 'surely-not-here/gpt2-xyz'"), err
    assert not (tmp_path / "report").exists()
