#!/usr/bin/env python3
"""waiters_diff_test: luaws.sdk.waiters and luaws.sdk.paginate against botocore's own logic.

For every waiter of every service botocore describes: random responses and service errors built
from the operation's output shape (strings drawn from the acceptors' expected values and the
enums) go through botocore's AcceptorConfig matchers and luaws's waiters.evaluate; the acceptor
that fires (and so the state) must be the same. A random sequence of answers per waiter is run
through botocore's Waiter.wait and luaws's waiters.wait: same outcome after the same attempts.
For every paginator: random pages go through botocore's PageIterator (result keys, next tokens,
repeated-token stop, build_full_result) and luaws's paginate; same results.
"""
import base64
import json
import os
import random
import subprocess
import sys
import time

try:
    import botocore.session
    from botocore import waiter as bwaiter
    from botocore.exceptions import ClientError, PaginationError, WaiterError
    from botocore.paginate import Paginator
except ImportError:
    print("skip: botocore is not installed")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))
SEED = int(os.environ.get("WAITERS_DIFF_SEED", "20261206"))
RESPONSES_PER_WAITER = 24
PAGE_SEQUENCES = 3

DRIVER = os.path.join(SOURCE_DIR, "tests", "support", "waiters_diff.lua")


class Gen:
    """Random values for botocore shapes; strings favour the given `words`."""

    def __init__(self, rng, words):
        self.rng = rng
        self.words = list(words)

    def value(self, shape, depth=0, mention=()):
        rng = self.rng
        t = shape.type_name
        if t == "structure":
            out = {}
            if depth > 5:
                return out
            for name, member in shape.members.items():
                if name in mention or rng.random() < 0.25:
                    out[name] = self.value(member, depth + 1, mention)
            return out
        if t == "list":
            if depth > 5:
                return []
            return [self.value(shape.member, depth + 1, mention) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
        if t == "map":
            if depth > 5:
                return {}
            return {"k%d" % i: self.value(shape.value, depth + 1, mention) for i in range(rng.choice([0, 1, 2]))}
        if t == "string":
            choices = self.words + list(getattr(shape, "enum", []) or []) + ["other", ""]
            return rng.choice(choices)
        if t in ("integer", "long"):
            return rng.choice([0, 1, 2, 5])
        if t in ("float", "double"):
            return rng.choice([0.0, 1.5, 2.0])
        if t == "boolean":
            return rng.random() < 0.5
        if t == "timestamp":
            return rng.choice([0, 1700000000])
        return "blob"


def mentioned_names(texts):
    names = set()
    for text in texts:
        word = ""
        for ch in str(text) + " ":
            if ch.isalnum() or ch == "_":
                word += ch
            else:
                if word:
                    names.add(word)
                word = ""
    return names


def waiter_cases(session, rng):
    """-> list of waiter tasks and the botocore answers they must get."""
    tasks = []
    for service in session.get_available_services():
        try:
            wm = session.get_waiter_model(service)
        except Exception:  # noqa: BLE001  (no waiters-2 for this service)
            continue
        sm = session.get_service_model(service)
        for name in wm.waiter_names:
            cfg = wm.get_waiter(name)
            raw = wm._waiter_config[name]  # noqa: SLF001  (the definition as the JSON has it)
            acceptors = raw["acceptors"]
            words = [a["expected"] for a in acceptors if isinstance(a["expected"], str)]
            codes = [a["expected"] for a in acceptors if a["matcher"] == "error" and isinstance(a["expected"], str)]
            statuses = [a["expected"] for a in acceptors if a["matcher"] == "status"]
            mention = mentioned_names(a.get("argument", "") for a in acceptors)
            op = sm.operation_model(cfg.operation)
            gen = Gen(rng, words)
            responses = []
            for _ in range(RESPONSES_PER_WAITER):
                if rng.random() < 0.3:
                    responses.append({"Error": {"Code": rng.choice(codes + ["Throttling", "Other"]),
                                                "Message": "m"},
                                      "ResponseMetadata": {"HTTPStatusCode": rng.choice(statuses + [400, 404, 500])}})
                else:
                    body = gen.value(op.output_shape, 0, mention) if op.output_shape else {}
                    body["ResponseMetadata"] = {"HTTPStatusCode": rng.choice(statuses + [200, 200])}
                    responses.append(body)
            configs = [bwaiter.AcceptorConfig(a) for a in acceptors]
            expected = []
            for resp in responses:
                fired = 0
                for i, acc in enumerate(configs):
                    if acc.matcher_func(resp):
                        fired = i + 1
                        break
                expected.append(fired)
            # One run of the whole loop: the first few responses in order, max attempts = their count.
            seq = responses[:rng.randint(1, 6)]
            if not any(t["kind"] == "definitions" and t["service"] == service for t in tasks):
                tasks.append({"kind": "definitions", "service": service, "expected": wm._waiter_config})  # noqa: SLF001
            tasks.append({"kind": "waiter", "service": service, "waiter": name,
                          "definition": raw, "responses": responses, "sequence": seq,
                          "expected": expected, "run": botocore_run(name, cfg, seq)})
    return tasks


def botocore_run(name, cfg, seq):
    """Waiter.wait over a scripted sequence -> "success:N" | "failure:N" | "timeout:N"."""
    calls = {"n": 0}

    def method(**_):
        resp = seq[calls["n"]]
        calls["n"] += 1
        if "Error" in resp:
            raise ClientError(resp, "Op")
        return resp
    config = bwaiter.SingleWaiterConfig(dict(cfg._config, delay=0, maxAttempts=len(seq)))  # noqa: SLF001
    w = bwaiter.Waiter(name, config, bwaiter.NormalizedOperationMethod(method))
    try:
        w.wait()
        return "success:%d" % calls["n"]
    except WaiterError as e:
        kind = "timeout" if "Max attempts exceeded" in str(e) else "failure"
        return "%s:%d" % (kind, calls["n"])


def paginator_cases(session, rng):
    tasks = []
    for service in session.get_available_services():
        try:
            pm = session.get_paginator_model(service)
        except Exception:  # noqa: BLE001
            continue
        configs = pm._paginator_config  # noqa: SLF001
        tasks.append({"kind": "definitions", "service": service, "paginators": sorted(configs),
                      "expected_paginators": configs})
        sm = None
        for op_name, cfg in sorted(pm._paginator_config.items()):  # noqa: SLF001
            if sm is None:
                sm = session.get_service_model(service)
            try:
                op = sm.operation_model(op_name)
            except Exception:  # noqa: BLE001
                continue
            texts = []
            for key in ("output_token", "result_key", "more_results", "non_aggregate_keys"):
                v = cfg.get(key)
                texts.extend(v if isinstance(v, list) else [v] if v else [])
            gen = Gen(rng, ["t1", "t2", "t3", ""])
            mention = mentioned_names(texts)
            for _ in range(PAGE_SEQUENCES):
                pages = []
                for _ in range(rng.randint(1, 4)):
                    pages.append(gen.value(op.output_shape, 0, mention) if op.output_shape else {})
                tasks.append({"kind": "paginator", "service": service, "operation": op_name,
                              "config": cfg, "pages": pages, "expected": botocore_pages(cfg, pages)})
            # MaxItems (the last page cut short, a resume token) and StartingToken from it.
            pages = [gen.value(op.output_shape, 0, mention) if op.output_shape else {} for _ in range(4)]
            limited = {"kind": "paginator", "service": service, "operation": op_name, "config": cfg,
                       "pages": pages, "max_items": rng.randint(1, 4)}
            limited["expected"] = botocore_pages(cfg, pages, max_items=limited["max_items"])
            tasks.append(limited)
            resume = limited["expected"]["resume"]
            if resume:
                used = limited["expected"]["consumed"]
                cut = limited["expected"]["cut"]
                start = used - 1 if cut else used
                resumed = {"kind": "paginator", "service": service, "operation": op_name, "config": cfg,
                           "pages": pages, "start": start, "starting_token": resume,
                           "max_items": rng.choice([None, 2])}
                resumed["expected"] = botocore_pages(cfg, pages, start, resume, resumed["max_items"])
                tasks.append(resumed)
    return tasks


def botocore_pages(cfg, pages, start=0, starting_token=None, max_items=None):
    """-> {"pages": [[result values...], ...], "end": "done"|"repeat"|"exhausted", "full":
    build_full_result() or None, "resume": resume token, "consumed": pages taken, "cut": whether
    the last page was cut short} as botocore's paginator sees the scripted pages."""
    calls = {"n": start}

    def method(**_):
        if calls["n"] >= len(pages):
            raise IndexError("no more pages")
        calls["n"] += 1
        return json.loads(json.dumps(pages[calls["n"] - 1]))
    config = {}
    if max_items is not None:
        config["MaxItems"] = max_items
    if starting_token is not None:
        config["StartingToken"] = starting_token
    p = Paginator(method, cfg, None)
    it = p.paginate(PaginationConfig=config)
    seen, end = [], "done"
    try:
        for page in it:
            seen.append([rk.search(page) for rk in it.result_keys])
    except PaginationError:
        end = "repeat"
    except IndexError:
        end = "exhausted"
    except TypeError:  # botocore cannot cut a page whose first result key is a map
        return {"pages": seen, "end": "botocore-crash", "full": None, "resume": None, "consumed": 0, "cut": False}
    resume = it.resume_token if end == "done" else None
    consumed = calls["n"]
    cut = resume is not None and "boto_truncate_amount" in json.loads(base64.b64decode(resume))
    full = None
    if end == "done":
        calls["n"] = start
        full = Paginator(method, cfg, None).paginate(PaginationConfig=config).build_full_result()
    return {"pages": seen, "end": end, "full": full, "resume": resume, "consumed": consumed, "cut": cut}


def same(a, b):
    """JSON equality as luaws can answer: an empty list and an empty map are the same value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if a in ([], {}) and b in ([], {}) and not isinstance(a, (str, int, float)) and not isinstance(b, (str, int, float)):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def drop_none(v):
    """botocore's full result keeps a missing non_aggregate key as None; luaws leaves it out."""
    if isinstance(v, dict):
        return {k: drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [drop_none(x) for x in v]
    return v


def main():
    started = time.time()
    rng = random.Random(SEED)
    session = botocore.session.get_session()
    tasks = waiter_cases(session, rng) + paginator_cases(session, rng)
    built = time.time() - started
    lines = "".join(json.dumps({k: v for k, v in t.items() if k not in ("expected", "run")}) + "\n"
                    for t in tasks)
    env = dict(os.environ, LUAWS_SOURCE_DIR=SOURCE_DIR)
    out = subprocess.run([LUAWS_BIN, DRIVER], input=lines, env=env, capture_output=True, text=True, timeout=240)
    answers = out.stdout.splitlines()
    if len(answers) != len(tasks):
        print("FAIL: luaws answered %d of %d tasks\n%s" % (len(answers), len(tasks), out.stderr[-3000:]))
        print("0 passed, 1 failed")
        return 1
    counts = {"waiters": 0, "responses": 0, "fired": 0, "runs": 0, "paginators": set(), "sequences": 0,
              "pages": 0, "full": 0, "unshaped": 0, "limited": 0, "skipped": 0, "shipped": 0, "shipped_paginators": 0}
    failed = 0
    services = set()

    def fail(msg):
        nonlocal failed
        failed += 1
        if failed <= 20:
            print("FAIL " + msg[:700])
    for task, line in zip(tasks, answers):
        got = json.loads(line)
        services.add(task["service"])
        where = "%s %s" % (task["service"], task.get("waiter") or task.get("operation") or "")
        if "error" in got:
            fail("%s: luaws raised %s" % (where, got["error"]))
            continue
        if task["kind"] == "definitions":
            if "expected" in task and got.get("shipped"):
                counts["shipped"] += 1
                if not same(json.loads(json.dumps(task["expected"])), got["waiters"]):
                    fail("%s: svc:waiters() differs from botocore's waiters-2" % where)
            for op, want in task.get("expected_paginators", {}).items():
                have = (got.get("paginators") or {}).get(op)
                if have is None:
                    continue  # the model is not shipped (a fresh clone before generation)
                counts["shipped_paginators"] += 1
                if not same(json.loads(json.dumps(want)), have):
                    fail("%s %s: svc:paginator() differs from botocore's: %s vs %s" % (where, op, want, have))
            continue
        if task["kind"] == "waiter":
            counts["waiters"] += 1
            counts["responses"] += len(task["responses"])
            counts["fired"] += sum(1 for x in task["expected"] if x)
            counts["unshaped"] += sum(1 for a, b in zip(task["expected"], got["unshaped"]) if a != b)
            for i, (want, have) in enumerate(zip(task["expected"], got["fired"])):
                if want != have:
                    fail("%s response %d: botocore acceptor %d, luaws %d: %s" % (
                        where, i, want, have, json.dumps(task["responses"][i])[:300]))
            counts["runs"] += 1
            if got["run"] != task["run"]:
                fail("%s run: botocore %s, luaws %s" % (where, task["run"], got["run"]))
        else:
            want = task["expected"]
            if want["end"] == "botocore-crash":
                counts["skipped"] += 1
                continue
            counts["paginators"].add(where)
            counts["sequences"] += 1
            if got["end"] != want["end"] or len(got["pages"]) != len(want["pages"]):
                fail("%s: botocore %s after %d pages, luaws %s after %d" % (
                    where, want["end"], len(want["pages"]), got["end"], len(got["pages"])))
                continue
            for a, b in zip(want["pages"], got["pages"]):
                counts["pages"] += 1
                if not same(a, b):
                    fail("%s result keys: botocore %s, luaws %s" % (where, json.dumps(a)[:200], json.dumps(b)[:200]))
            if want["resume"] != got.get("resume"):
                fail("%s resume token: botocore %s, luaws %s" % (where, want["resume"], got.get("resume")))
            if task.get("max_items") or task.get("starting_token"):
                counts["limited"] += 1
            if want["full"] is not None:
                counts["full"] += 1
                if not same(drop_none(want["full"]), got["full"]):
                    fail("%s full result: botocore %s, luaws %s" % (
                        where, json.dumps(want["full"])[:250], json.dumps(got["full"])[:250]))
    print("waiters: %d waiters of %d services, %d responses (%d matched an acceptor), %d whole runs" % (
        counts["waiters"], len({t["service"] for t in tasks if t["kind"] == "waiter"}), counts["responses"],
        counts["fired"], counts["runs"]))
    print("shipped definitions equal to botocore's: waiters of %d services, %d paginators" % (
        counts["shipped"], counts["shipped_paginators"]))
    print("(without marking by shape, %d of those responses would fire another acceptor)" % counts["unshaped"])
    print("paginators: %d paginators, %d page sequences (%d with MaxItems/StartingToken), %d pages, "
          "%d full results" % (len(counts["paginators"]), counts["sequences"], counts["limited"],
                               counts["pages"], counts["full"]))
    print("(%d MaxItems cases skipped: botocore raises TypeError cutting a map)" % counts["skipped"])
    print("%d services; built in %.1f s, total %.1f s" % (len(services), built, time.time() - started))
    print("%d passed, %d failed" % (len(tasks) - min(failed, len(tasks)), failed))  # tasks, failures
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
