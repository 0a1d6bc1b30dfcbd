"""Seeded Label Studio data (prompts, versions, inference runs, ML backends), JWTs and the HTML 404 page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from typing import Any

from runtrack.testing import _data as d

LS_VERSION = "1.23.2"
RUN_STATUS = (
    ("Completed", 55),
    ("Failed", 12),
    ("Canceled", 8),
    ("InProgress", 10),
    ("Pending", 10),
    ("Stopped", 3),
    ("completed", 2),
)
PROVIDERS = (
    ("OpenAI", "gpt-4o", "GPT-4o"),
    ("OpenAI", "gpt-4o-mini", "GPT-4o mini"),
    ("Anthropic", "claude-3-5-sonnet-20241022", "Claude 3.5 Sonnet"),
    ("AzureOpenAI", "gpt-4o", "Azure GPT-4o"),
    ("Gemini", "gemini-1.5-pro", "Gemini 1.5 Pro"),
    ("Custom", "llama-3.1-70b", "Llama 3.1 70B"),
)
PROMPT_TITLES = (
    "Sentiment classifier",
    "Support intent router",
    "PII detector",
    "Toxicity screen",
    "Product NER",
    "Language identification",
    "Spam filter",
    "Topic tagger",
)
USERS = (
    {
        "id": 4,
        "username": "ana",
        "email": "ana@example.com",
        "first_name": "Ana",
        "last_name": "Diaz",
        "avatar": "/data/avatars/ana.png",
    },
    {
        "id": 7,
        "username": "li.wei",
        "email": "li.wei@example.com",
        "first_name": "Li",
        "last_name": "Wei",
        "avatar": "",
    },
    {"id": 9, "username": "", "email": "ops-bot@example.com", "first_name": "", "last_name": "", "avatar": None},
)
STATE_NAMES = {"CO": "Connected", "DI": "Disconnected", "ER": "Error", "TR": "Training", "PR": "Predicting"}
# health: how the backend answers the health check/setup that every GET triggers
BACKEND_KINDS = (
    ("ok", "CO", True),
    ("down", "DI", True),
    ("setup_error", "ER", True),
    ("frozen", "PR", True),
    ("ok", "CO", False),
    ("frozen", "XX", True),
)


def b64url(raw: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwt_encode(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT, like djangorestframework-simplejwt issues."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(sig)}"


def jwt_decode(token: str, secret: bytes) -> dict[str, Any] | None:
    """The payload of a JWT signed with ``secret`` (None if malformed or the signature is wrong)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = b64url(hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def prompt(
    pid: int, k: int, versions: list[int], runs: int, projects: list[int], rng: random.Random, score: float | None
) -> dict[str, Any]:
    """A ``ModelInterfaceSerializerGET`` (newest wire shape)."""
    created = d.EPOCH_US - 40 * d.DAY_US + k * d.DAY_US
    title = PROMPT_TITLES[k % len(PROMPT_TITLES)]
    if k >= len(PROMPT_TITLES):
        title += f" {k // len(PROMPT_TITLES) + 1}"
    out: dict[str, Any] = {
        "id": pid,
        "title": title,
        "description": None if k % 3 == 2 else f"Classify {PROMPT_TITLES[k % len(PROMPT_TITLES)].lower()} inputs",
        "created_by": USERS[k % len(USERS)],
        "created_at": d.iso_z(created),
        "updated_at": d.iso_z(created + 3_600_000_000 + rng.randrange(10**9)),
        "organization": 1,
        "skill_name": "NamedEntityRecognition" if "NER" in title else "TextClassification",
        "input_fields": ["text"],
        "output_classes": ["Positive", "Negative", "Neutral"] if k % 2 == 0 else ["Yes", "No"],
        "associated_projects": [{"id": p, "title": f"Project {p}"} for p in projects],
        "runs_count": runs,
        "versions_count": len(versions),
        "best_score": score,
    }
    if k % 5 == 4:
        del out["created_by"]
    return out


def version(vid: int, pid: int, k: int, rng: random.Random) -> dict[str, Any]:
    """A ``ThirdPartyModelVersion``."""
    provider, model, display = PROVIDERS[(vid + k) % len(PROVIDERS)]
    created = d.EPOCH_US - 30 * d.DAY_US + vid * 3_600_000_000
    score = None if k % 4 == 3 else round(0.6 + rng.random() * 0.35, 3)
    return {
        "id": vid,
        "parent_model": pid,
        "title": f"v{k + 1} - {model}",
        "prompt": "Classify the sentiment of the following text into one of {output_classes}.\n\nText: {text}",
        "provider": provider,
        "provider_model_id": model,
        "model_display_name": display,
        "model_provider_connection": 3 if provider != "Custom" else None,
        "organization": 1,
        "max_few_shot_examples": k % 3 * 2,
        "created_by": USERS[vid % len(USERS)],
        "created_at": d.iso_z(created),
        "updated_at": d.iso_z(created),
        "score": score,
    }


def run(rid: int, pid: int, vid: int, project: int, rng: random.Random, total_tasks: int) -> dict[str, Any]:
    """A ``ModelRun`` (SDK 2.1 shape); timestamps follow the status."""
    status = d.weighted(rng.randrange(100), RUN_STATUS)
    subset = rng.choice(("HasGT", "HasGT", "All", "Sample", "Custom"))
    created = d.EPOCH_US - 20 * d.DAY_US + rid * 1_800_000_000 + rng.randrange(10**8)
    tasks = 50 if subset == "Sample" else total_tasks
    low = status.lower()
    done = low in ("completed", "failed", "canceled", "stopped")
    predictions = tasks if low == "completed" else rng.randrange(tasks + 1) if low != "pending" else 0
    correct = 0 if subset == "All" else int(predictions * (0.55 + rng.random() * 0.4))
    triggered = None if low == "pending" else created + 400_000 + rng.randrange(2_000_000)
    finished = (triggered or created) + 30_000_000 + rng.randrange(600_000_000) if done else None
    return {
        "id": rid,
        "project": project,
        "parent_model": pid,
        "model_version": vid,
        "organization": None if rid % 17 == 16 else 1,
        "created_by": None if rid % 11 == 10 else USERS[rid % len(USERS)],
        "project_subset": subset,
        "status": status,
        "job_id": None if low == "pending" or rid % 13 == 12 else d.uuid4(rng.randbytes(16)),
        "total_tasks": tasks,
        "total_predictions": predictions,
        "total_correct_predictions": correct,
        "created_at": d.iso_z(created),
        "triggered_at": None if triggered is None else d.iso_z(triggered),
        "predictions_updated_at": None if finished is None else d.iso_z(finished - 400_000),
        "completed_at": None if finished is None else d.iso_z(finished),
        "filters_json": None,
        "sample_subset_size": 50 if subset == "Sample" else None,
        "source_model_run": None,
        "task_ids": [rng.randrange(1, 500) for _ in range(3)] if subset == "Custom" else None,
    }


def old_wire_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run as servers before SDK 2.0.21 sent it: ``created_by`` an int, newer fields absent."""
    out = {
        k: v
        for k, v in run.items()
        if k not in ("model_version", "filters_json", "sample_subset_size", "source_model_run", "task_ids")
    }
    creator = run["created_by"]
    out["created_by"] = creator["id"] if isinstance(creator, dict) else creator
    if out["project_subset"] == "Custom":
        out["project_subset"] = "HasGT"
    return out


def backend(bid: int, project: int, k: int) -> dict[str, Any]:
    """An ``MLBackend`` plus private ``_health`` and ``_versions`` (stripped before sending)."""
    health, state, has_versions = BACKEND_KINDS[k % len(BACKEND_KINDS)]
    created = d.EPOCH_US - 10 * d.DAY_US + bid * 3_600_000_000
    return {
        "id": bid,
        "state": state,
        "readable_state": STATE_NAMES.get(state, state),
        "is_interactive": k % 2 == 1,
        "url": f"http://ml-backend-{bid}:9090",
        "error_message": None,
        "title": f"backend-{bid}",
        "auth_method": "BASIC_AUTH" if k % 4 == 3 else "NONE",
        "basic_auth_user": "ml" if k % 4 == 3 else "",
        "basic_auth_pass_is_set": k % 4 == 3,
        "description": "" if k % 2 else "YOLO detector",
        "extra_params": None if k % 2 else {"threshold": 0.5},
        "model_version": f"model-{bid}-v2",
        "timeout": 100.0,
        "created_at": d.iso_z(created),
        "updated_at": d.iso_z(created + 60_000_000),
        "auto_update": True,
        "project": project,
        "_health": health,
        "_versions": [f"model-{bid}-v1", f"model-{bid}-v2"] if has_versions else None,
    }


NOT_FOUND_HTML = """


<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="author" content=""/>
  <meta name="viewport" content="width=device-width, initial-scale=0.9, shrink-to-fit=no">

  <!-- Address string color -->
  <meta name="theme-color" content="#272727"> <!-- Chrome, Firefox OS and Opera -->
  <meta name="msapplication-navbutton-color" content="#272727">  <!-- Windows Phone -->
  <meta name="apple-mobile-web-app-status-bar-style" content="#272727">  <!-- iOS Safari -->

  <link href="/static/css/main.9be72da65a79.css" rel="stylesheet"/>
  <link href="/react-app/main.css?v=df96d7" rel="stylesheet">

  <title>{code} | Label Studio</title>
  <title>Label Studio</title>
  <link href="/static/images/favicon.8992b8aa4126.ico" rel="shortcut icon"/>
  <link rel="stylesheet" href="/static/css/error.css"/>
</head>

<body>

<div class="ls-global-error">
<div class="ls-global-error__header">
  <div class="ls-global-error__code">{code}</div>
  <svg class="ls-global-error__heidi" width="812" height="338" viewBox="0 0 812 338" fill="none"
       xmlns="http://www.w3.org/2000/svg">{svg}</svg>
</div>
<div class="ls-global-error__body">
  <h1 class="ls-global-error__title">{title}</h1>
  <p class="ls-global-error__message">The page you were looking for doesn't exist or was moved.</p>
  <a class="ls-global-error__link" href="/">Go home</a>
</div>
</div>

</body>
</html>
"""


def html_page(code: int, title: str) -> str:
    """Label Studio's HTML error page (the real one is ~170 KB; this keeps its shape, padded to ~24 KB)."""
    path = (
        '<path d="M794.972 40.2966C796.282 39.7167 797.603 40.1645 798.847 40.908C801.754 42.652 '
        '803.859 45.4752 804.703 48.7651" fill="#FFFFFF"/>'
    )
    return NOT_FOUND_HTML.replace("{code}", str(code)).replace("{title}", title).replace("{svg}", path * 180)
