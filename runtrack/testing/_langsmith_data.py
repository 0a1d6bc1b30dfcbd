"""Seeded LangSmith runs: facts per run, payload pools and the wire renderers (v1 rows, v2 runs, items)."""

from __future__ import annotations

from typing import Any, NamedTuple

from runtrack.testing import _data as d
from runtrack.testing._jsonutil import dumps, fragment, text

SPAN_US = 21 * d.DAY_US  # seeded queue items are spread over the 21 days before the epoch
SECTIONS = ("needs_my_review", "needs_others_review", "completed")

STATUS_TABLE = (
    ("success", 74),
    ("error", 12),
    ("pending", 8),
    ("interrupted", 3),
    ("timeout", 2),
    ("SUCCESS", 1),
)
RUN_TYPES = (
    ("llm", 50),
    ("chain", 28),
    ("tool", 8),
    ("retriever", 6),
    ("prompt", 4),
    ("parser", 3),
    ("embedding", 0),
    ("agent", 1),
)
NAMES = {
    "chain": ("RunnableSequence", "AgentExecutor", "RetrievalQA", "LangGraph", "support_bot"),
    "tool": ("search_docs", "get_order_status", "lookup_account", "create_ticket"),
    "retriever": ("VectorStoreRetriever", "PineconeRetriever"),
    "prompt": ("ChatPromptTemplate",),
    "parser": ("StrOutputParser", "PydanticOutputParser"),
    "embedding": ("OpenAIEmbeddings",),
    "agent": ("ReActAgent",),
}
# (model, provider, llm class name, prompt price, completion price) in units of 1e-10 USD per token
MODELS = (
    ("gpt-4o-mini", "openai", "ChatOpenAI", 1_500, 6_000),
    ("gpt-4o", "openai", "ChatOpenAI", 25_000, 100_000),
    ("claude-3-5-sonnet-20241022", "anthropic", "ChatAnthropic", 30_000, 150_000),
    ("gpt-4o-mini", "azure", "AzureChatOpenAI", 1_650, 6_600),
)
ERRORS = (
    "RateLimitError('Error code: 429 - {\\'error\\': {\\'message\\': \\'Rate limit reached for gpt-4o-mini\\'}}')",
    "Traceback (most recent call last):\n  File \"agent.py\", line 88, in invoke\nKeyError: 'order_id'",
    "TimeoutError('Request timed out after 60.0 seconds')",
    "OutputParserException('Could not parse LLM output: `I cannot help with that.`')",
)
TAGS = ('["prod"]', '["prod","v2"]', "[]", '["staging"]', '["prod","eu"]')
FEEDBACK = (
    '{"correctness":{"n":1,"avg":1.0,"stdev":0.0,"errors":0,"values":{}}}',
    '{"correctness":{"n":2,"avg":0.5,"stdev":0.5,"errors":0,"values":{}},'
    '"helpfulness":{"n":1,"avg":0.8,"stdev":0.0,"errors":0,"values":{}}}',
    '{"label":{"n":1,"avg":null,"stdev":null,"errors":0,"values":{"good":1}}}',
)
V2_STATUS = {"success": "SUCCESS", "error": "ERROR", "pending": "PENDING"}


class RunFacts(NamedTuple):
    """Everything that varies per run; the renderers format it per wire version."""

    id: str
    parent: str | None
    trace: str
    start_us: int
    parent_start_us: int
    end_us: int | None
    ftt_us: int | None
    start_null: bool
    session: str
    name: str
    run_type: str
    status: str
    error: int
    inputs: int
    outputs: int
    extra: int
    tags: int
    feedback: int
    prompt_tokens: int
    completion_tokens: int
    in_dataset: bool
    tier: str


class Pools:
    """Pre-rendered payload variants (inputs, outputs, extra) shared by all runs of one fake."""

    def __init__(self, seed: int, tenant_id: str) -> None:
        tp = d.TextPool(seed)
        self.inputs: list[str] = []
        self.inputs_preview: list[str] = []
        for k in range(24):
            system = tp.paragraph(450 + 30 * k)
            question = tp.paragraph(150 + 20 * k)
            history = [
                {"role": "user", "content": tp.sentence()},
                {"role": "assistant", "content": tp.paragraph(160)},
            ]
            obj: dict[str, Any] = {
                "messages": [
                    [
                        _lc_message("SystemMessage", "system", system),
                        *[
                            _lc_message(
                                "HumanMessage" if h["role"] == "user" else "AIMessage",
                                "human" if h["role"] == "user" else "ai",
                                h["content"],
                            )
                            for h in history
                        ],
                        _lc_message("HumanMessage", "human", question),
                    ]
                ]
            }
            self.inputs.append(dumps(obj).decode())
            self.inputs_preview.append(text(question[:150]))
        self.outputs: list[str] = []
        self.outputs_preview: list[str] = []
        for k in range(24):
            answer = tp.paragraph(250 + 30 * k)
            message = _lc_message("AIMessage", "ai", answer)
            obj = {
                "generations": [
                    [
                        {
                            "text": answer,
                            "generation_info": {"finish_reason": "stop", "logprobs": None},
                            "type": "ChatGeneration",
                            "message": message,
                        }
                    ]
                ],
                "llm_output": {"model_name": MODELS[k % len(MODELS)][0], "system_fingerprint": f"fp_{k:08x}"},
                "run": None,
                "type": "LLMResult",
            }
            self.outputs.append(dumps(obj).decode())
            self.outputs_preview.append(text(answer[:150]))
        self.extra: list[str] = []
        self.metadata: list[str] = []
        for k in range(8):
            model, provider = MODELS[k % len(MODELS)][:2]
            obj = {
                "invocation_params": {
                    "model": model,
                    "temperature": 0.2 + 0.1 * (k % 3),
                    "stream": k % 2 == 0,
                    "n": 1,
                    "_type": f"{provider}-chat",
                },
                "options": {"stop": None},
                "batch_size": 1,
                "metadata": {
                    "ls_provider": provider,
                    "ls_model_name": model,
                    "ls_model_type": "chat",
                    "ls_temperature": 0.2 + 0.1 * (k % 3),
                    "revision_id": f"v1.{k}.0-{k * 7919:05x}",
                    "tenant": tenant_id,
                },
                "runtime": {
                    "sdk": "langsmith-py",
                    "sdk_version": "0.4.37",
                    "library": "langchain-core",
                    "platform": "Linux-6.8.0-x86_64-with-glibc2.36",
                    "runtime": "python",
                    "py_implementation": "CPython",
                    "runtime_version": "3.11.9",
                    "langchain_version": "0.3.27",
                    "langchain_core_version": "0.3.76",
                },
            }
            self.extra.append(dumps(obj).decode())
            self.metadata.append(dumps(obj["metadata"]).decode())
        self.errors = [text(e) for e in ERRORS]
        self.inputs_b = [v.encode() for v in self.inputs]
        self.outputs_b = [v.encode() for v in self.outputs]
        self.inputs_preview_b = [v.encode() for v in self.inputs_preview]
        self.outputs_preview_b = [v.encode() for v in self.outputs_preview]


def _lc_message(cls: str, kind: str, content: str) -> dict[str, Any]:
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", cls],
        "kwargs": {"content": content, "type": kind},
    }


def facts(prefix: bytes, q: int, i: int, start_us: int, sessions: list[str]) -> RunFacts:
    """The facts of run ``i`` whose home queue is ``q`` (a pure function of the arguments)."""
    h = d.digest(prefix, q, i)
    x = int.from_bytes(h[16:32], "big")  # bit fields below; bytes 0..15 feed the ids
    status = d.weighted(x % 100, STATUS_TABLE)
    run_type = d.weighted((x >> 7) % 100, RUN_TYPES)
    is_child = run_type in ("llm", "tool", "retriever", "parser") and (x >> 14) % 100 < 35
    parent_start = start_us - 1000 - (x >> 21) % 900_000 if is_child else start_us
    parent = d.uuid7(parent_start // 1000, h, 6) if is_child else None
    extra = (x >> 41) % 8
    name = MODELS[extra % len(MODELS)][2] if run_type == "llm" else NAMES[run_type][(x >> 44) % len(NAMES[run_type])]
    long_run = run_type in ("llm", "chain")
    duration = 150_000 + (x >> 47) % 30_000_000 if long_run else 5_000 + (x >> 47) % 900_000
    pending = status in ("pending", "interrupted")
    failed = status in ("error", "timeout")
    pt = ct = 0
    if run_type == "llm" and not pending:
        pt, ct = 120 + (x >> 72) % 2900, 15 + (x >> 84) % 780
    elif run_type == "chain" and not pending:
        pt, ct = 400 + (x >> 72) % 5200, 40 + (x >> 84) % 1500
    if failed:
        ct = 0
    run_id = d.uuid7(start_us // 1000, h, 0)
    return RunFacts(
        id=run_id,
        parent=parent,
        trace=parent if parent is not None else run_id,
        start_us=start_us,
        parent_start_us=parent_start,
        end_us=None if status == "pending" else start_us + duration,
        ftt_us=start_us + duration // 5 if run_type == "llm" and not pending and (x >> 96) % 3 == 0 else None,
        start_null=(x >> 98) % 97 == 0,
        session=sessions[(x >> 105) % len(sessions)],
        name=name,
        run_type=run_type,
        status=status,
        error=(x >> 108) % len(ERRORS) if failed else -1,
        inputs=-1 if (x >> 110) % 50 == 0 else (x >> 116) % 24,
        outputs=-1 if pending or (failed and (x >> 121) % 2) or (x >> 122) % 60 == 0 else (x >> 56) % 24,
        extra=extra,
        tags=(x >> 61) % len(TAGS),
        feedback=-1 if (x >> 64) % 5 < 3 else (x >> 67) % len(FEEDBACK),
        prompt_tokens=pt,
        completion_tokens=ct,
        in_dataset=(x >> 94) % 20 == 0,
        tier="shortlived" if (x >> 101) % 5 == 0 else "longlived",
    )


def dec(units: int) -> str:
    """Units of 1e-10 as a decimal string (``618000`` -> ``"0.0000618"``)."""
    whole, frac = divmod(units, 10**10)
    return f"{whole}.{frac:010d}".rstrip("0").rstrip(".") if frac else f"{whole}"


def costs(f: RunFacts) -> tuple[str | None, str | None, str | None]:
    """Prompt, completion and total cost as decimal strings (None when no tokens were counted)."""
    if f.prompt_tokens == 0 and f.completion_tokens == 0:
        return None, None, None
    model = MODELS[f.extra % len(MODELS)]
    p, c = f.prompt_tokens * model[3], f.completion_tokens * model[4]
    return dec(p), dec(c), dec(p + c)


def _q(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _compact(naive: str) -> str:
    """``20250508T174203118204Z`` from ``2025-05-08T17:42:03.118204``."""
    return f"{naive[0:4]}{naive[5:7]}{naive[8:13]}{naive[14:16]}{naive[17:19]}{naive[20:26]}Z"


def dotted_order(f: RunFacts) -> str:
    """``<start>Z<id>``, prefixed by the parent's segment for child runs."""
    own = f"{_compact(d.iso_naive(f.start_us))}{f.id}"
    return own if f.parent is None else f"{_compact(d.iso_naive(f.parent_start_us))}{f.parent}.{own}"


def app_path(f: RunFacts, tenant_id: str) -> str:
    """The UI deep link LangSmith sends in ``app_path``."""
    return f"/o/{tenant_id}/projects/p/{f.session}/r/{f.id}?trace_id={f.trace}&start_time={d.iso_naive(f.start_us)}"


def v1_run_bytes(f: RunFacts, pools: Pools, tenant_id: str) -> bytes:
    """The RunSchema object of ``GET /annotation-queues/{id}/runs``, UTF-8, without its closing brace."""
    pc, cc, tc = costs(f)
    start = d.iso_naive(f.start_us)
    own = f"{_compact(start)}{f.id}"
    dotted = own if f.parent is None else f"{_compact(d.iso_naive(f.parent_start_us))}{f.parent}.{own}"
    head = (
        f'{{"id":"{f.id}","name":"{f.name}","run_type":"{f.run_type}","status":"{f.status}",'
        f'"error":{pools.errors[f.error] if f.error >= 0 else "null"},'
        f'"start_time":{"null" if f.start_null else _q(start)},'
        f'"end_time":{"null" if f.end_us is None else _q(d.iso_naive(f.end_us))},'
        f'"first_token_time":{"null" if f.ftt_us is None else _q(d.iso_naive(f.ftt_us))},'
        f'"trace_id":"{f.trace}","dotted_order":"{dotted}","parent_run_id":{_q(f.parent)},'
        f'"parent_run_ids":{"[]" if f.parent is None else f"[{_q(f.parent)}]"},"child_run_ids":null,'
        f'"session_id":"{f.session}","app_path":"/o/{tenant_id}/projects/p/{f.session}/r/{f.id}'
        f'?trace_id={f.trace}&start_time={start}","inputs":'
    )
    tail = (
        f',"extra":{pools.extra[f.extra]},"events":[],"serialized":null,"tags":{TAGS[f.tags]},'
        f'"feedback_stats":{FEEDBACK[f.feedback] if f.feedback >= 0 else "null"},'
        f'"prompt_tokens":{f.prompt_tokens},"completion_tokens":{f.completion_tokens},'
        f'"total_tokens":{f.prompt_tokens + f.completion_tokens},'
        f'"prompt_cost":{_q(pc)},"completion_cost":{_q(cc)},"total_cost":{_q(tc)},'
        f'"reference_example_id":null,"in_dataset":{"true" if f.in_dataset else "false"},'
        f'"trace_tier":"{f.tier}","thread_id":null,"manifest_id":null,"share_token":null'
    )
    inputs = pools.inputs_b[f.inputs] if f.inputs >= 0 else b"null"
    outputs = pools.outputs_b[f.outputs] if f.outputs >= 0 else b"null"
    return b"".join(
        (
            head.encode(),
            inputs,
            b',"outputs":',
            outputs,
            b',"inputs_preview":',
            pools.inputs_preview_b[f.inputs] if f.inputs >= 0 else b"null",
            b',"outputs_preview":',
            pools.outputs_preview_b[f.outputs] if f.outputs >= 0 else b"null",
            tail.encode(),
        )
    )


def queue_part(qr_id: str, added_us: int, section: int, reviewers: list[str], h: int) -> bytes:
    """The annotation-queue fields closing a v1 row (``,"queue_run_id":...}``)."""
    if section == 0:
        reviewed, completed = "null", "[]"
    else:
        reviewed = _q(d.iso_naive(added_us + 60_000_000 + h % 86_400_000_000))
        completed = f'["{reviewers[h % len(reviewers)]}"]' if section == 2 else "[]"
    added = d.iso_naive(added_us)
    reserved = f'["{reviewers[(h >> 4) % len(reviewers)]}"]' if section == 0 and h % 11 == 0 else "[]"
    return (
        f',"queue_run_id":"{qr_id}","added_at":"{added}","effective_added_at":"{added}",'
        f'"last_reviewed_time":{reviewed},"reserved_by":{reserved},"completed_by":{completed}}}'
    ).encode()


V2_FIELDS = (
    "ID",
    "NAME",
    "RUN_TYPE",
    "STATUS",
    "START_TIME",
    "END_TIME",
    "LATENCY_SECONDS",
    "FIRST_TOKEN_TIME",
    "ERROR",
    "ERROR_PREVIEW",
    "EXTRA",
    "METADATA",
    "EVENTS",
    "INPUTS",
    "INPUTS_PREVIEW",
    "OUTPUTS",
    "OUTPUTS_PREVIEW",
    "MANIFEST",
    "PARENT_RUN_IDS",
    "PROJECT_ID",
    "TRACE_ID",
    "THREAD_ID",
    "DOTTED_ORDER",
    "IS_ROOT",
    "REFERENCE_EXAMPLE_ID",
    "REFERENCE_DATASET_ID",
    "TOTAL_TOKENS",
    "PROMPT_TOKENS",
    "COMPLETION_TOKENS",
    "TOTAL_COST",
    "PROMPT_COST",
    "COMPLETION_COST",
    "PROMPT_TOKEN_DETAILS",
    "COMPLETION_TOKEN_DETAILS",
    "PROMPT_COST_DETAILS",
    "COMPLETION_COST_DETAILS",
    "PRICE_MODEL_ID",
    "TAGS",
    "APP_PATH",
    "ATTACHMENTS",
    "THREAD_EVALUATION_TIME",
    "IS_IN_DATASET",
    "LAST_QUEUED_AT",
    "SHARE_URL",
    "FEEDBACK_STATS",
    "LS_USER_ID",
)


def v2_run(f: RunFacts, pools: Pools, tenant_id: str, selects: frozenset[str]) -> dict[str, Any]:
    """One run of ``POST /api/v2/runs/query``: only the selected fields, v2 names and casing."""
    pc, cc, tc = costs(f)
    error = pools.errors[f.error] if f.error >= 0 else None
    values: dict[str, Any] = {
        "ID": f.id,
        "NAME": f.name,
        "RUN_TYPE": f.run_type.upper(),
        "STATUS": V2_STATUS.get(f.status.lower(), f.status.upper()),
        "START_TIME": d.iso_z(f.start_us, 3),
        "END_TIME": None if f.end_us is None else d.iso_z(f.end_us, 3),
        "LATENCY_SECONDS": None if f.end_us is None else (f.end_us - f.start_us) / 1e6,
        "FIRST_TOKEN_TIME": None if f.ftt_us is None else d.iso_z(f.ftt_us, 3),
        "ERROR": None if error is None else fragment(error.encode()),
        "ERROR_PREVIEW": None if error is None else ERRORS[f.error][:120],
        "EXTRA": fragment(pools.extra[f.extra].encode()),
        "METADATA": fragment(pools.metadata[f.extra].encode()),
        "INPUTS": None if f.inputs < 0 else fragment(pools.inputs[f.inputs].encode()),
        "INPUTS_PREVIEW": None if f.inputs < 0 else fragment(pools.inputs_preview[f.inputs].encode()),
        "OUTPUTS": None if f.outputs < 0 else fragment(pools.outputs[f.outputs].encode()),
        "OUTPUTS_PREVIEW": None if f.outputs < 0 else fragment(pools.outputs_preview[f.outputs].encode()),
        "PARENT_RUN_IDS": [] if f.parent is None else [f.parent],
        "PROJECT_ID": f.session,
        "TRACE_ID": f.trace,
        "DOTTED_ORDER": dotted_order(f),
        "IS_ROOT": f.parent is None,
        "TOTAL_TOKENS": f.prompt_tokens + f.completion_tokens,
        "PROMPT_TOKENS": f.prompt_tokens,
        "COMPLETION_TOKENS": f.completion_tokens,
        "TOTAL_COST": tc,
        "PROMPT_COST": pc,
        "COMPLETION_COST": cc,
        "TAGS": fragment(TAGS[f.tags].encode()),
        "APP_PATH": app_path(f, tenant_id),
        "IS_IN_DATASET": f.in_dataset,
        "FEEDBACK_STATS": None if f.feedback < 0 else fragment(FEEDBACK[f.feedback].encode()),
    }
    return {name.lower(): values.get(name) for name in V2_FIELDS if name in selects}
