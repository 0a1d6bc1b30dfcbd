"""Where the LangSmith API and its web app live, derived from the configured endpoint."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["api_root", "web_url"]

DEFAULT_ENDPOINT = "https://api.smith.langchain.com"
_API_SUFFIXES = ("/api/v1", "/api")


def api_root(url: str) -> str:
    """The URL that the API paths (``api/v1/...``, ``api/v2/...``) are joined to.

    ``LANGSMITH_ENDPOINT`` is often a self-hosted ``https://host/api/v1`` (what the hand-written SDK client takes);
    a trailing ``/api/v1`` or ``/api`` is dropped so the paths are never doubled. Any other path prefix
    (``https://host/langsmith``) is kept.
    """
    url = url.rstrip("/")
    for suffix in _API_SUFFIXES:
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def web_url(root: str) -> str:
    """The LangSmith web app that run ``app_path`` links are relative to.

    SaaS API hosts (``api.smith.langchain.com``, ``eu.api.smith.langchain.com``, ...) lose their ``api`` label, as
    in the SDK's ``get_host_url``; a self-hosted instance serves the app at the same origin as the API.
    """
    parts = urlsplit(root)
    host = parts.hostname or ""
    if host.endswith("smith.langchain.com"):
        labels = [label for label in host.split(".") if label != "api"]
        netloc = ".".join(labels) + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
    return root.rstrip("/")
