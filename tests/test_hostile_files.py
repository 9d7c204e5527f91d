"""Hostile files never crash a reader or the CLI (property-based, hypothesis).

Every JSON file type the CLI reads goes through the strict reader (formats/jsonio.py) and a
typed parser. For random JSON, random mutations of a valid file, and raw bytes, each parser
either accepts the input or raises a :class:`~zkmargin.errors.ZkmarginError` -- never a
KeyError, TypeError, RecursionError, OverflowError or a hang -- and each CLI verb answers bad
input with one line and exit code 2.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solvency_flow import base, make_flow

from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio
from zkmargin.formats.snarkjs_json import proof_from_json, public_from_json, verifying_key_from_json
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.solvency import trust as tr
from zkmargin.solvency.attest import Attestation
from zkmargin.solvency.bundle import Bundle
from zkmargin.solvency.keys import setup_record_from_json
from zkmargin.solvency.opening import commitment_from_json, opening_from_json
from zkmargin.solvency.params import params_from_json

FUZZ = settings(max_examples=int(os.environ.get("ZKMARGIN_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers(-(1 << 300), 1 << 300) | st.floats(allow_nan=False)
           | st.text(max_size=30) | st.sampled_from(["0", "-1", "1e400", "span16", "account", "\n", "0" * 120]))
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=12), kids, max_size=4), max_leaves=20)


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """One valid instance of every protocol document, from an honest session."""
    from zkmargin.formats.snarkjs_json import proof_to_json, verifying_key_to_json
    f = make_flow(tmp_path_factory.mktemp("fuzz"))
    md, pd, _ = base()
    key = tr.private_key_json("VenueA", f.sk["VenueA"])
    return {
        "params": (f.pf.to_json(), params_from_json),
        "opening": (f.ops[0].secret_json(), opening_from_json),
        "commitment": (f.ops[0].public_json("trader-1"), commitment_from_json),
        "attestation": (f.atts[0].to_json(), Attestation.from_json),
        "bundle": (f.bundle.to_json(), Bundle.from_json),
        "trust": (f.trust.to_json(), tr.trust_from_json),
        "key": (key, tr.private_key_from_json),
        "setup": (f.record.to_json(), setup_record_from_json),
        "market": (md, parse_market),
        "portfolio": (pd, lambda d: parse_portfolio(d, parse_market(md))),
        "verification_key": (verifying_key_to_json(f.keys.vk), verifying_key_from_json),
        "proof": (proof_to_json(f.bundle.proof), proof_from_json),
        "public": ([str(v) for v in f.bundle.public_values()], public_from_json),
    }


def _accepts_or_refuses(parse, doc):
    try:
        parse(json.loads(json.dumps(doc)))
    except ZkmarginError:
        pass


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:6]):
            yield from _paths(v, prefix + (i,))


def _mutate(doc, path, how, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "wrap":
        parent[last] = [parent[last]]
    elif how == "add" and isinstance(parent, dict):
        parent["x" + str(last)] = value
    return doc


KINDS = ["params", "opening", "commitment", "attestation", "bundle", "trust", "key", "setup", "market",
         "portfolio", "verification_key", "proof", "public"]


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_mutated_valid_documents(docs, kind, data):
    valid, parse = docs[kind]
    paths = list(_paths(valid))
    path = data.draw(st.sampled_from(paths))
    how = data.draw(st.sampled_from(["replace", "delete", "wrap", "add"]))
    _accepts_or_refuses(parse, _mutate(valid, path, how, data.draw(json_values)))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(value=json_values)
def test_random_json(docs, kind, value):
    _accepts_or_refuses(docs[kind][1], value)


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_raw_bytes_through_the_strict_reader(raw):
    try:
        jio.loads_strict(raw, "fuzz")
    except ZkmarginError:
        pass


@pytest.mark.parametrize("text,reason", [
    ("[NaN]", "not a number"), ("[Infinity]", "not a number"), ("[1e400]", "does not fit a float"),
    ("[2.00000000000000001]", "more digits than a float"), ("[1e-400]", "more digits than a float"),
    ('{"a": 1, "a": 2}', "duplicate key"), ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" + "9" * 5000 + "]", "more than 100 digits"), ("[1,", "not valid JSON"), (b"\xff\xfe", "UTF-8|JSON"),
])
def test_strict_reader_rules(text, reason):
    with pytest.raises(jio.JSONFormatError, match=reason):
        jio.loads_strict(text, "t")


def test_special_files_are_capped_and_never_hang(tmp_path):
    with pytest.raises(jio.JSONFormatError, match="larger than"):
        jio.read_json("/dev/zero", "zero", cap=1 << 20)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(jio.JSONFormatError, match="not valid JSON"):   # no writer: empty, at once
        jio.read_json(fifo, "fifo")
    stop = threading.Event()

    def writer():                                        # a writer that never stops
        with open(fifo, "wb") as w:
            while not stop.is_set():
                try:
                    w.write(b"[" * 65536)
                except BrokenPipeError:
                    return
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    time.sleep(0.2)
    try:
        with pytest.raises(jio.JSONFormatError, match="larger than"):
            jio.read_json(fifo, "fifo", cap=1 << 20)
    finally:
        stop.set()
    with pytest.raises(jio.JSONFormatError, match="directory"):
        jio.read_json(tmp_path, "dir")
    with pytest.raises(jio.JSONFormatError, match="cannot read"):
        jio.read_json(tmp_path / "missing.json", "missing")


VERBS = [
    lambda d, bad: ["verify", bad, "--vk", bad, "--params", bad, "--trust", bad, "--epoch", "1"],
    lambda d, bad: ["inspect", bad],
    lambda d, bad: ["commit", bad, "--params", bad, "--out", f"{d}/c.json", "--opening", f"{d}/o.json"],
    lambda d, bad: ["prove", "--params", bad, "--zkey", bad, "--opening", bad, "--nonce", "1", "--out", f"{d}/b.json"],
    lambda d, bad: ["attest", "sign", bad, "--params", bad, "--portfolio", bad, "--epoch", "1", "--key", bad,
                    "--out", f"{d}/a.json"],
    lambda d, bad: ["venue", "params", bad, "--market", bad, "--venue", "V", "--epoch", "1", "--out", f"{d}/p.json"],
    lambda d, bad: ["venue", "setup", bad, "--out-dir", f"{d}/keys"],
    lambda d, bad: ["venue", "check", bad],
    lambda d, bad: ["margin", bad, "--market", bad],
    lambda d, bad: ["groth16", "verify", bad, bad, bad],
]


@pytest.mark.parametrize("verb", range(len(VERBS)))
@pytest.mark.parametrize("content", ["[NaN]", "{}", '{"format": "zkmargin/params/v2"}', "[" * 5000, "null",
                                     '{"a": 1, "a": 1}', "not json", ""])
def test_cli_answers_bad_files_with_exit_2(tmp_path, verb, content):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    r = CliRunner().invoke(app, VERBS[verb](str(tmp_path), str(bad)))
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    assert len([ln for ln in r.output.splitlines() if ln.startswith("error:")]) == 1, r.output
    assert "internal error" not in r.output, r.output
