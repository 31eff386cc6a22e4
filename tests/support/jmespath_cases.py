"""jmespath_cases: JMESPath cases (hand-picked and grammar-generated) and python jmespath as oracle.

Used by tests/py/jmespath_diff_test.py and to regenerate tests/lua/core/jmespath_cases.lua.
"""
import json
import random

import jmespath
from jmespath import exceptions

KEYS = ["a", "b", "c", "foo", "bar", "baz", "Name", "State", "x y"]

DOCS = [
    {"a": {"b": {"c": [1, 2, 3]}}, "foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}], "c": "text"},
    {"foo": [[1, 2], [3, [4, 5]], 6, None], "bar": {"x y": True, "a": False}, "baz": []},
    {"Reservations": [{"Instances": [{"State": {"Name": "running"}, "InstanceId": "i-1"},
                                     {"State": {"Name": "pending"}, "InstanceId": "i-2"}]},
                      {"Instances": []}],
     "Table": {"TableStatus": "ACTIVE"}, "Count": 0, "Items": [{"n": 1.5}, {"n": -2}, {"n": 0}]},
    [{"a": 1, "b": "x"}, {"a": 3, "b": "z"}, {"a": 2, "b": "y"}, {"a": None, "b": ""}],
    {"a": "", "b": {}, "c": [], "foo": 0, "bar": None, "baz": "é日😀", "Name": [1.0, 2.5, -0.0]},
    "just a string",
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
]

HAND = [
    "a", "a.b", "a.b.c", "a.b.c[0]", "a.b.c[-1]", "a.b.c[5]", "foo[*].bar", "foo[].bar", "foo[*]",
    "foo[]", "foo[][]", "foo[0][1]", "*", "*.*", "foo[?bar > `1`]", "foo[?bar]", "foo[?!bar]",
    "foo[?bar == `1`].bar", "foo[?bar != `1`]", "foo[?baz || bar].bar", "foo[?bar && baz]",
    "[a, foo]", "{x: a, y: c}", "{\"x y\": a}", "a.{x: b}", "foo[*].[bar, baz]", "foo | [0]",
    "foo[0] | bar", "@", "@.a", "`1`", "`\"lit\"`", "'raw'", "'it\\'s'", "`[1, 2]`", "`{\"k\": null}`",
    "`null`", "`true` == `true`", "`1` == `1.0`", "`0` == `false`", "`1` == `true`", "`[]` == `[]`",
    "`{}` == `{}`", "`[1]` == `[1]`", "`\"a\"` < `\"b\"`", "`1` < `\"b\"`", "`null` < `1`",
    "a || c", "baz || c", "bar && a", "!a", "!`0`", "!`[]`", "!`\"\"`", "(a)", "(foo[0]).bar",
    "[0:2]", "[::2]", "[::-1]", "[-2:]", "[:-2]", "[5:1:-1]", "[1:1]", "[0:100]", "[::0]",
    "foo[:1].bar", "[*].a", "[?a > `1`].b", "[?a >= `2`] | [0].b", "[?b == 'y'].a", "[?a < `3`]",
    "sort_by(@, &a)", "sort_by(@, &b)[*].a", "max_by(@, &a)", "min_by(@, &b)", "[].a",
    "Reservations[].Instances[].State.Name", "Reservations[*].Instances[*].State.Name",
    "Reservations[].Instances[].InstanceId | length(@)", "length(Reservations[].Instances[]) > `0`",
    "Table.TableStatus", "Count", "Items[].n", "sum(Items[].n)", "avg(Items[].n)", "max(Items[].n)",
    "min(Items[].n)", "abs(`-3`)", "abs(`-3.5`)", "ceil(`1.2`)", "floor(`-1.2`)", "ceil(`2`)",
    "contains(`[1, 2]`, `2`)", "contains('abc', 'b')", "contains('abc', `1`)", "contains(`[]`, `null`)",
    "ends_with('hello', 'lo')", "starts_with('hello', 'he')", "starts_with('hello', `1`)",
    "join(', ', ['a', 'b'])", "join(', ', `[1]`)", "keys(@)", "values(@)", "keys(a)", "length(@)",
    "length(c)", "length(baz)", "length(`1`)", "map(&a, @)", "map(&[a], @)", "map(&foo, `[1]`)",
    "merge(`{\"a\": 1}`, `{\"b\": 2, \"a\": 3}`)", "merge(`{}`)", "merge()", "not_null(bar, a, c)",
    "not_null(`null`)", "reverse('abc')", "reverse(baz)", "reverse(@)", "sort(@)", "sort(`[3, 1, 2]`)",
    "sort(`[\"b\", \"a\"]`)", "sort(`[1, \"a\"]`)", "to_array(a)", "to_array(`[1]`)", "to_string(@)",
    "to_string(`1.5`)", "to_string('s')", "to_string(baz)", "to_string(Name)", "to_number('12')",
    "to_number('1.5e3')", "to_number('x')", "to_number(`true`)", "to_number(' 7 ')", "type(@)",
    "type(a)", "type(`null`)", "type(`{}`)", "type(&a)", "unknown_fn(@)", "length(@, @)", "length()",
    "sort_by(@, &`{}`)", "foo.", "a..b", "[", "{a}", "a[", "a[?]", "\"quoted\"", "`1", "'open",
    "a = b", "-", "a.'x'", "a[?b == `1`] | length(@)", "foo[?bar==`2`] || 'none'",
    "*.b.c", "foo[*][*]", "foo[][?@ > `2`]", "foo[?@ == `6`]", "[?@ > `5`]", "[?@ > `5`] | [0]",
    "sum(@)", "avg(@)", "avg(`[]`)", "max(`[]`)", "sum(`[]`)", "max_by(`[]`, &a)",
    "\"x y\"", "bar.\"x y\"", "baz[0]", "foo[0][0][0]", "foo[1][1][0]", "foo[-1]", "foo[-5]",
    "Name[?@ > `0`]", "to_string(`-0.0`)", "to_string(`1e100`)", "to_string(`0.0001`)",
    "to_string(`123456789012345678`)", "`1e2`", "to_string(`1e2`)", "length('é日😀')",
]


def random_literal(rng):
    return rng.choice(["`1`", "`0`", "`2.5`", "`-1`", "`\"x\"`", "'y'", "`true`", "`false`",
                       "`null`", "`[]`", "`{}`", "`[1, 2]`", "`{\"a\": 1}`", "''"])


FUNCS = [("length", 1), ("keys", 1), ("values", 1), ("sort", 1), ("reverse", 1), ("to_string", 1),
         ("to_number", 1), ("to_array", 1), ("type", 1), ("max", 1), ("min", 1), ("sum", 1),
         ("avg", 1), ("abs", 1), ("not_null", 2), ("contains", 2), ("starts_with", 2),
         ("join", 2), ("merge", 2), ("sort_by", -2), ("max_by", -2), ("min_by", -2), ("map", -1)]


def random_expr(rng, depth=0):
    if depth > 3:
        return rng.choice([rng.choice(KEYS[:8]), "@", random_literal(rng)])
    r = rng.random()
    sub = lambda: random_expr(rng, depth + 1)  # noqa: E731
    field = lambda: rng.choice(KEYS[:8])  # noqa: E731
    choices = [
        lambda: field(),
        lambda: field() + "." + field(),
        lambda: sub() + "." + field(),
        lambda: field() + "[%d]" % rng.randint(-3, 3),
        lambda: field() + "[%s:%s:%s]" % tuple(rng.choice(["", "1", "-1", "2", "0"]) for _ in range(3)),
        lambda: field() + "[*]." + field(),
        lambda: field() + "[]." + field(),
        lambda: field() + "[]",
        lambda: field() + ".*",
        lambda: "*." + field(),
        lambda: field() + "[?" + sub() + " " + rng.choice(["==", "!=", "<", ">", "<=", ">="]) + " " + sub() + "]",
        lambda: field() + "[?" + sub() + "]." + field(),
        lambda: "[" + sub() + ", " + sub() + "]",
        lambda: "{k1: " + sub() + ", k2: " + sub() + "}",
        lambda: sub() + " || " + sub(),
        lambda: sub() + " && " + sub(),
        lambda: "!" + sub(),
        lambda: sub() + " | " + sub(),
        lambda: "(" + sub() + ")",
        lambda: random_literal(rng),
        lambda: "@",
        lambda: sub() + " " + rng.choice(["==", "!=", "<", ">"]) + " " + sub(),
        lambda: call(),
    ]

    def call():
        name, arity = rng.choice(FUNCS)
        if arity == -2:
            return "%s(%s, &%s)" % (name, sub(), field())
        if arity == -1:
            return "map(&%s, %s)" % (field(), sub())
        return "%s(%s)" % (name, ", ".join(sub() for _ in range(arity)))
    del r
    return rng.choice(choices)()


def random_doc(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice([0, 1, 2, -1, 2.5, "x", "y", "", True, False, None, "running"])
    if r < 0.6:
        return [random_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {k: random_doc(rng, depth + 1) for k in rng.sample(KEYS[:8], rng.randint(0, 4))}


def _exprefs(v):
    """An expression reference (`&a` as a result) has no JSON form: both sides write "<expref>"."""
    if isinstance(v, list):
        return [_exprefs(x) for x in v]
    if isinstance(v, dict):
        return {k: _exprefs(x) for k, x in v.items()}
    if type(v).__name__ == "_Expression":
        return "<expref>"
    return v


def oracle(expr, data):
    """-> ("ok", value) or ("err", kind) as python's jmespath answers."""
    try:
        return ("ok", _exprefs(jmespath.search(expr, data)))
    except (exceptions.ArityError, exceptions.VariadictArityError):  # ParseError subclasses
        return ("err", "arity")
    except (exceptions.LexerError, exceptions.ParseError, exceptions.EmptyExpressionError):
        return ("err", "syntax")
    except exceptions.UnknownFunctionError:
        return ("err", "unknown-function")
    except exceptions.JMESPathTypeError:
        return ("err", "type")
    except Exception:  # noqa: BLE001  (python's own TypeError/ValueError: an invalid value)
        return ("err", "error")


def cases(seed=7, random_count=int(__import__("os").environ.get("JMESPATH_RANDOM", "4000"))):
    """-> list of (expr, data) pairs: every hand case over every doc, then random ones."""
    out = [(e, d) for e in HAND for d in DOCS]
    rng = random.Random(seed)
    for _ in range(random_count):
        out.append((random_expr(rng), random_doc(rng) if rng.random() < 0.7 else rng.choice(DOCS)))
    # Token soup: mostly malformed expressions; both sides must agree, and luaws must answer
    # with an error table, never a raw Lua error.
    alphabet = ["a", "b", "foo", ".", "*", "[", "]", "[]", "[?", "?", "(", ")", "{", "}", ",", ":",
                "|", "||", "&", "&&", "!", "!=", "==", "<", ">=", "@", "`1`", "'s'", '"q"', "1", "-1",
                " ", "length(", "sort_by(", "`", "'", '"', "\\", "=", "$", "é"]
    for _ in range(random_count // 2):
        expr = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        out.append((expr, rng.choice(DOCS)))
    return out


def same(a, b):
    """Strict JSON equality: booleans are not numbers, 1 and 1.0 are equal, NaN equals NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


if __name__ == "__main__":
    print(json.dumps(cases()[:5]))
