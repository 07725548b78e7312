#!/usr/bin/env python3
"""Generates kubesim/src/schema/generated.rs from the k8s-openapi crate.

The crate's sources carry, per Kubernetes type, the JSON field names and
types (its schemars impls, compiled or not) and the server-side-apply list
and map strategies (its DeepMerge impls). This script keeps the types
reachable from the kinds kubesim serves and writes them as a compact table.

Usage: python3 kubesim/tools/gen_schema.py [PATH-TO-k8s-openapi-0.29.x]
(default: the copy in ~/.cargo/registry). Re-run when the table of served
resources gains a kind.
"""
import glob
import os
import re
import sys

VERSION_DIR = "v1_33"
ROOTS = [
    "io.k8s.api.core.v1." + k
    for k in ["Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service",
              "PersistentVolumeClaim", "PersistentVolume", "Pod", "Event", "Node"]
] + [
    "io.k8s.api.apps.v1." + k
    for k in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision"]
] + [
    "io.k8s.api.batch.v1.Job", "io.k8s.api.batch.v1.CronJob",
    "io.k8s.api.networking.v1.Ingress", "io.k8s.api.networking.v1.NetworkPolicy",
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    "io.k8s.api.policy.v1.PodDisruptionBudget",
    "io.k8s.api.coordination.v1.Lease",
    "io.k8s.api.rbac.v1.Role", "io.k8s.api.rbac.v1.RoleBinding",
    "io.k8s.api.storage.v1.StorageClass",
    "io.k8s.api.events.v1.Event",
]


def find_crate():
    if len(sys.argv) > 1:
        return sys.argv[1]
    hits = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/k8s-openapi-0.29.*")))
    if not hits:
        sys.exit("k8s-openapi 0.29 not found; pass its path")
    return hits[-1]


def parse_file(path, root):
    text = open(path).read()
    m = re.search(r'fn schema_name\(\)[^{]*\{\s*"([^"]+)"\.into\(\)', text)
    s = re.search(r"pub struct (\w+)", text)
    if not m or not s:
        return None
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    rust_path = "crate::" + "::".join(rel[:-1] + [s.group(1)])
    name = m.group(1)
    json_of = dict((r, j) for j, r in re.findall(r'"([^"]+)" => Field::Key_(\w+)', text))
    schema = text[text.find("fn json_schema"):]
    props = {}
    pm = re.search(r'\n( +)"properties": \{\n(.*?)\n\1\},', schema, re.S)
    if pm:
        indent = len(pm.group(1)) + 4
        body = pm.group(2)
        parts = re.split(r'\n(?= {%d}"[^"]+": )' % indent, "\n" + body)
        for part in parts:
            pm2 = re.match(r'\s*"([^"]+)": (.*)', part, re.S)
            if pm2:
                props[pm2.group(1)] = pm2.group(2)
    elif '"type": "object"' not in schema[:400]:
        props = None  # not an object with properties (string, int-or-string, ...)
    strategies = {}
    dm = text[text.find("impl crate::DeepMerge"):]
    dm = dm[: dm.find("\n}\n")]
    for kind, field, rest in re.findall(
            r"merge_strategies::(list::map|list::set|list::atomic|map::granular|map::atomic)\(\s*&mut self\.(\w+),(.*?)\);",
            dm, re.S):
        if kind == "list::map":
            keys = re.findall(r"lhs\.(\w+)", rest)
            strategies[field] = ("map", keys)
        else:
            strategies[field] = (kind.split("::")[1], [])
    return {"name": name, "rust": rust_path, "props": props, "json_of": json_of,
            "strategies": strategies}


def type_of(prop, rust_to_name):
    """Returns (shape, elem) where shape in s,*,T,[,{ and elem a type name."""
    def ref(t):
        r = re.search(r"subschema_for::<(crate::[\w:]+)>", t)
        return rust_to_name.get(r.group(1)) if r else None
    head = prop.split("\n", 1)[0]
    if head.startswith("({") or head.startswith("(__gen"):
        return ("T", ref(prop))
    tm = re.search(r'"type": "(\w+)"', prop)
    t = tm.group(1) if tm else None
    if t == "array":
        items = prop[prop.find('"items"'):]
        r = ref(items.split("\n", 1)[0] if "subschema_for" in items.split("\n", 1)[0] else "")
        return ("[", r) if r else ("[", None)
    if t == "object" and '"additionalProperties"' in prop:
        ap = prop[prop.find('"additionalProperties"'):]
        line = ap.split("\n", 1)[0]
        r = ref(line) if "subschema_for" in line else None
        return ("{", r)
    if t in ("string", "integer", "number", "boolean"):
        return (scalar_code(prop), None)
    return ("*", None)


def scalar_code(prop):
    """s (string), i32/i64 (integers), b (boolean), f (number), * (other)."""
    head = prop[: prop.find("\n    }") if "\n    }" in prop else len(prop)]
    tm = re.search(r'"type": "(\w+)"', head)
    t = tm.group(1) if tm else ""
    fm = re.search(r'"format": "(\w+)"', head)
    f = fm.group(1) if fm else ""
    if t == "string":
        return "s"
    if t == "boolean":
        return "b"
    if t == "integer":
        return "i32" if f == "int32" else "i64"
    if t == "number":
        return "f"
    return "*"


def main():
    crate = find_crate()
    root = os.path.join(crate, "src", VERSION_DIR)
    files = glob.glob(os.path.join(root, "**", "*.rs"), recursive=True)
    types = {}
    for f in files:
        t = parse_file(f, root)
        if t:
            types[t["name"]] = t
    rust_to_name = {t["rust"]: n for n, t in types.items()}
    order, seen = [], set()

    def visit(n):
        if n in seen or n not in types:
            return
        seen.add(n)
        order.append(n)
        props = types[n]["props"] or {}
        for p in props.values():
            shape, elem = type_of(p, rust_to_name)
            if elem:
                visit(elem)

    for r in ROOTS:
        if r not in types:
            sys.exit("missing root type " + r)
        visit(r)
    index = {n: i for i, n in enumerate(order)}
    out = [
        "//! Generated by `kubesim/tools/gen_schema.py` from k8s-openapi 0.29",
        "//! (`%s`); do not edit. One entry per type reachable from the served" % VERSION_DIR,
        "//! kinds: (schema name, fields), each field (JSON name, type), where the",
        "//! type is a scalar (`s` string, `i32`/`i64` integer, `b` boolean, `f`",
        "//! number), `*` (anything: int-or-string, quantity, raw),",
        "//! `T<n>` (object type n), `[` + elem (list) or `{` + elem (map), then",
        "//! `|` and the strategy: `map:k1,k2` (list keyed by fields), `set`,",
        "//! `atomic`, `granular`.",
        "",
        "pub static TYPES: &[(&str, &[(&str, &str)])] = &[",
    ]
    for n in order:
        t = types[n]
        props = t["props"]
        if props is None:
            out.append('    ("%s", &[("*", "*")]),' % n)
            continue
        fields = []
        rust_of = {j: r for r, j in t["json_of"].items()}
        for pname, p in props.items():
            shape, elem = type_of(p, rust_to_name)
            code = shape if shape not in ("T", "[", "{") else None
            if shape == "T":
                code = "T%d" % index[elem] if elem in index else "*"
            elif shape in "[{":
                sub = p[p.find('"items"') if shape == "[" else p.find('"additionalProperties"'):]
                inner = ("T%d" % index[elem]) if elem in index else (scalar_code(sub.split(": ", 1)[1]) if elem is None else "*")
                code = shape + inner
            strat = t["strategies"].get(rust_of.get(pname, ""), None)
            if strat:
                kind, keys = strat
                if kind == "map":
                    elem_t = types.get(elem) if elem else None
                    jkeys = [elem_t["json_of"].get(k, k) if elem_t else k for k in keys]
                    code += "|map:" + ",".join(jkeys)
                else:
                    code += "|" + kind
            fields.append('("%s", "%s")' % (pname, code))
        out.append('    ("%s", &[%s]),' % (n, ", ".join(fields)))
    out.append("];")
    dest = os.path.join(os.path.dirname(__file__), "..", "src", "schema", "generated.rs")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    open(dest, "w").write("\n".join(out) + "\n")
    print("wrote %d types to %s" % (len(order), os.path.normpath(dest)))


main()
