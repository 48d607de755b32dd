"""The official `openai` Python package against `evalctl serve`, through a whole lifecycle.

Run by tests/sdk/run.sh once per flavor:
    python test_openai_sdk.py --base-url http://127.0.0.1:PORT --flavor openai|azure|foundry \
        --api-key KEY --model-port PORT

The foundry flavor is a Foundry project (`/api/projects/sdk/openai/v1`), reached as
`azure-ai-projects`' `get_openai_client()` reaches it: the OpenAI client with an Entra ID
token as its bearer key (here the emulator's key stands in for one) and no api-version.

It starts a fake chat completions endpoint on --model-port (the emulator was started with
--model-endpoint pointing at it) whose answers wait until released, so a run can be caught
in progress and canceled. Every check is counted; the last line is `N passed, N failed`, and
the exit status is 1 when anything failed.
"""

import argparse
import json
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai

RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def expect_error(name, error_type, call):
    try:
        call()
    except error_type as error:
        check(name, True)
        return error
    except Exception as error:  # noqa: BLE001 - any other outcome is the failure we report
        check(name, False, f"raised {type(error).__name__}: {error}")
        return None
    check(name, False, "no error raised")
    return None


# --- a fake model endpoint that answers only when released ---------------------------------

RELEASE = threading.Event()


class FakeModel(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        RELEASE.wait(timeout=30)
        user = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
        answer = json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": user}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        try:
            self.wfile.write(answer)
        except BrokenPipeError:
            pass  # the emulator stopped waiting: the run was canceled

    def log_message(self, *args):
        pass


def start_fake_model(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), FakeModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- the lifecycle --------------------------------------------------------------------------

ROWS = [
    {"item": {"question": "2+2", "answer": "4", "completion": "4"}},
    {"item": {"question": "3+3", "answer": "6", "completion": "7"}},
    {"item": {"question": "France", "answer": "Paris", "completion": "paris"}},
    {"item": {"question": "1+1", "answer": "2", "completion": "2"}},
    {"item": {"question": "sky", "answer": "blue", "completion": "blue"}},
    {"item": {"question": "sea", "answer": "salt", "completion": "Salty"}},
]

EVAL = {
    "data_source_config": {
        "type": "custom",
        "item_schema": {
            "type": "object",
            "properties": {
                "question": {"type": "string"},
                "answer": {"type": "string"},
                "completion": {"type": "string"},
            },
            "required": ["question", "answer", "completion"],
        },
        "include_sample_schema": False,
    },
    "testing_criteria": [{
        "type": "string_check", "name": "exact", "input": "{{item.completion}}",
        "reference": "{{item.answer}}", "operation": "eq",
    }],
}


def expected_counts(rows, flavor):
    """`eq` is exact, case-sensitive equality; one grader, so a row passes when it does. A
    Foundry project also counts skipped rows."""
    passed = sum(1 for r in rows if r["item"]["completion"] == r["item"]["answer"])
    counts = {"total": len(rows), "errored": 0, "failed": len(rows) - passed, "passed": passed}
    if flavor == "foundry":
        counts["skipped"] = 0
    return counts


def grader_id_prefix(flavor, name):
    """`<name>-<uuid>`, or `<name>_<uuid>` in a Foundry project."""
    return f"{name}_" if flavor == "foundry" else f"{name}-"


def make_client(args, key):
    if args.flavor == "openai":
        return openai.OpenAI(base_url=f"{args.base_url}/v1", api_key=key, max_retries=0)
    if args.flavor == "foundry":
        return openai.OpenAI(base_url=f"{args.base_url}/api/projects/sdk/openai/v1",
                             api_key=key, max_retries=0)
    return openai.AzureOpenAI(
        base_url=f"{args.base_url}/openai/v1", api_version="preview", api_key=key,
        default_headers={"aoai-evals": "preview"}, max_retries=0)


def wait(client, eval_id, run_id, done, timeout=30):
    deadline = time.time() + timeout
    while True:
        run = client.evals.runs.retrieve(run_id, eval_id=eval_id)
        if done(run) or time.time() > deadline:
            return run
        time.sleep(0.05)


def terminal(run):
    return run.status in ("completed", "failed", "canceled")


def evals_crud(client, flavor):
    created = [client.evals.create(name=f"sdk eval {i}", metadata={"i": str(i)}, **EVAL)
               for i in range(5)]
    check("create returns eval ids", all(e.id.startswith("eval_") for e in created))
    check("graders get their service ids",
          created[0].testing_criteria[0].id.startswith(grader_id_prefix(flavor, "exact")))
    schema = created[0].data_source_config.schema_
    item = schema["item"] if flavor == "foundry" else schema["properties"]["item"]
    check("stored config holds item_schema", item == EVAL["data_source_config"]["item_schema"],
          f"{schema}")
    ids = [e.id for e in created]
    paged = [e.id for e in client.evals.list(limit=2)]
    check("auto-pagination walks every page in order", [i for i in paged if i in ids] == ids,
          f"{paged}")
    first = client.evals.list(limit=2, order="desc")
    check("desc page", [e.id for e in first.data] == ids[::-1][:2] and first.has_more,
          f"{[e.id for e in first.data]}")
    nxt = client.evals.list(limit=2, order="desc", after=first.data[-1].id)
    check("after cursor", [e.id for e in nxt.data] == ids[::-1][2:4])
    updated = client.evals.update(ids[0], name="renamed", metadata={"team": "sdk"})
    check("update name and metadata", updated.name == "renamed" and updated.metadata == {"team": "sdk"})
    check("retrieve sees the update", client.evals.retrieve(ids[0]).name == "renamed")
    for eval_id in ids[1:]:
        client.evals.delete(eval_id)
    return ids[0]


def runs_lifecycle(client, eval_id, flavor):
    jsonl = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    file = client.files.create(file=("qa.jsonl", jsonl), purpose="evals")
    check("upload a JSONL file", file.id.startswith("file-") and file.bytes == len(jsonl))
    check("retrieve the file", client.files.retrieve(file.id).filename == "qa.jsonl")
    check("file content round-trips", client.files.content(file.id).read() == jsonl)
    check("list files", file.id in [f.id for f in client.files.list(purpose="evals")])

    by_file = client.evals.runs.create(
        eval_id, name="from file",
        data_source={"type": "jsonl", "source": {"type": "file_id", "id": file.id}})
    by_content = client.evals.runs.create(
        eval_id, name="inline",
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS[:4]}})
    check("runs start queued", by_file.status == "queued" and by_content.status == "queued")
    done_file = wait(client, eval_id, by_file.id, terminal)
    done_content = wait(client, eval_id, by_content.id, terminal)
    for name, run, rows in [("file_id", done_file, ROWS), ("file_content", done_content, ROWS[:4])]:
        check(f"{name} run completes", run.status == "completed", run.status)
        counts = run.result_counts.model_dump()
        expected = expected_counts(rows, flavor)
        check(f"{name} result counts", counts == expected, f"{counts} != {expected}")
    runs = [r.id for r in client.evals.runs.list(eval_id, status="completed")]
    check("list runs by status", runs == [by_file.id, by_content.id], f"{runs}")
    client.files.delete(file.id)
    return done_file


def output_items(client, eval_id, run, flavor):
    every = list(client.evals.runs.output_items.list(run.id, eval_id=eval_id, limit=2))
    check("output items: one per row", len(every) == len(ROWS))
    check("output items keep row order", [i.datasource_item_id for i in every] == list(range(len(ROWS))))
    passing = client.evals.runs.output_items.list(run.id, eval_id=eval_id, status="pass", limit=100)
    expected = [i for i, r in enumerate(ROWS) if r["item"]["completion"] == r["item"]["answer"]]
    check("filter by status=pass", [i.datasource_item_id for i in passing.data] == expected,
          f"{[i.datasource_item_id for i in passing.data]}")
    page = client.evals.runs.output_items.list(run.id, eval_id=eval_id, limit=2, order="desc")
    check("desc page of items", [i.datasource_item_id for i in page.data] == [5, 4] and page.has_more)
    after = client.evals.runs.output_items.list(
        run.id, eval_id=eval_id, limit=2, order="desc", after=page.data[-1].id)
    check("after cursor on items", [i.datasource_item_id for i in after.data] == [3, 2])
    one = client.evals.runs.output_items.retrieve(every[0].id, eval_id=eval_id, run_id=run.id)
    check("retrieve one output item", one.id == every[0].id
          and one.results[0].name.startswith(grader_id_prefix(flavor, "exact")))


def cancel_and_delete(client, eval_id):
    RELEASE.clear()
    run = client.evals.runs.create(eval_id, name="sampled", data_source={
        "type": "completions", "model": "fake-model",
        "input_messages": {"type": "template", "template": [
            {"role": "user", "content": "{{item.completion}}"}]},
        "source": {"type": "file_content", "content": ROWS}})
    running = wait(client, eval_id, run.id, lambda r: r.status == "in_progress")
    check("a sampling run is in progress", running.status == "in_progress", running.status)
    canceled = client.evals.runs.cancel(run.id, eval_id=eval_id)
    check("cancel", canceled.status == "canceled", canceled.status)
    RELEASE.set()
    again = client.evals.runs.retrieve(run.id, eval_id=eval_id)
    check("canceled stays canceled", again.status == "canceled"
          and again.result_counts.model_dump() == canceled.result_counts.model_dump(),
          f"{again.status} {again.result_counts} {canceled.result_counts}")
    client.evals.runs.delete(run.id, eval_id=eval_id)
    expect_error("deleted run is gone", openai.NotFoundError,
                 lambda: client.evals.runs.retrieve(run.id, eval_id=eval_id))


def typed_errors(client, args):
    expect_error("NotFoundError for an unknown eval", openai.NotFoundError,
                 lambda: client.evals.retrieve("eval_does_not_exist"))
    bad = json.loads(json.dumps(EVAL))
    bad["testing_criteria"][0]["operation"] = "contains"
    error = expect_error("BadRequestError for a bad enum", openai.BadRequestError,
                         lambda: client.evals.create(**bad))
    if error is not None:
        check("the error names the param", "testing_criteria[0].operation" in str(error.body),
              str(error.body))
    expect_error("BadRequestError for limit=101", openai.BadRequestError,
                 lambda: client.evals.list(limit=101))
    wrong = make_client(args, "wrong-key")
    expect_error("AuthenticationError for a wrong key", openai.AuthenticationError,
                 lambda: wrong.evals.list())


def foundry_evaluators(client, args):
    """A Foundry project's own grader: a built-in the emulator computes, beside a
    string_check, through create, run, results and the project's extra fields."""
    body = json.loads(json.dumps(EVAL))
    body["testing_criteria"].append({
        "type": "azure_ai_evaluator", "name": "f1", "evaluator_name": "builtin.f1_score",
        "initialization_parameters": {"threshold": 0.5},
        "data_mapping": {"response": "{{item.completion}}", "ground_truth": "{{item.answer}}"}})
    created = client.evals.create(name="foundry", **body)
    evaluator = created.testing_criteria[1].model_dump()
    check("an azure_ai_evaluator grader is echoed with its id and version",
          evaluator["id"].startswith("f1_") and evaluator["evaluator_version"] == "", f"{evaluator}")
    extra = created.model_extra or {}
    check("the eval carries the project's properties",
          extra.get("properties", {}).get("evals_run_type") == "azure_ai", f"{extra}")
    run = client.evals.runs.create(created.id, name="f1", data_source={
        "type": "jsonl", "source": {"type": "file_content", "content": ROWS}})
    done = wait(client, created.id, run.id, terminal)
    check("the run completes", done.status == "completed", done.status)
    f1 = next((r for r in done.per_testing_criteria_results
               if r.testing_criteria.startswith("f1_")), None)
    # ROWS: 4, 2 and blue match exactly; paris/Paris matches once lower-cased; 7/6 and
    # Salty/salt share no token.
    check("the built-in grades every row", f1 is not None and (f1.passed, f1.failed) == (4, 2),
          f"{done.per_testing_criteria_results}")
    item = next(iter(client.evals.runs.output_items.list(run.id, eval_id=created.id, limit=1)))
    result = item.results[1].model_dump()
    check("results say status, metric, label and threshold",
          (result.get("status"), result.get("metric"), result.get("label"), result.get("threshold"))
          == ("completed", "f1_score", "pass", 0.5), f"{result}")
    keyed = openai.AzureOpenAI(
        base_url=f"{args.base_url}/api/projects/sdk/openai/v1", api_version="preview",
        api_key=args.api_key, max_retries=0)
    expect_error("an api-key header gets 403 on a project", openai.PermissionDeniedError,
                 lambda: keyed.evals.list())
    client.evals.delete(created.id)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--flavor", choices=["openai", "azure", "foundry"], required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--model-port", type=int, required=True)
    args = parser.parse_args()
    model = start_fake_model(args.model_port)
    client = make_client(args, args.api_key)
    print(f"--- {args.flavor} flavor, openai {openai.__version__}")
    try:
        eval_id = evals_crud(client, args.flavor)
        run = runs_lifecycle(client, eval_id, args.flavor)
        output_items(client, eval_id, run, args.flavor)
        if args.flavor == "foundry":
            foundry_evaluators(client, args)
        cancel_and_delete(client, eval_id)
        typed_errors(client, args)
        deleted = client.evals.delete(eval_id)
        check("delete the eval", deleted.deleted and deleted.eval_id == eval_id)
    except Exception:  # noqa: BLE001 - an unexpected error is one more failure
        traceback.print_exc()
        check("the lifecycle ran to the end", False)
    finally:
        RELEASE.set()
        model.shutdown()
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    raise SystemExit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
