"""Self-checking setup (issue 11): every ptau and key is checked before it is cached and when a
cached file is loaded; a bad one is reported with what made it, never silently rebuilt."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from zkmargin.algebra import G2_GEN, g2_all_in_subgroup, g2_array_from_points, g2_first_outside_subgroup, g2_mul
from zkmargin.algebra.encoding import fq2_sqrt
from zkmargin.algebra.points import G2_B, f2_add, f2_mul, g2_in_subgroup, g2_is_on_curve
from zkmargin.prover import dev_cache, phase2
from zkmargin.prover import ptau as P
from zkmargin.prover.setup import new_proving_key

TAU, ALPHA, BETA = 7, 11, 13


def _twist_point_outside_g2():
    x = (5, 1)
    while True:
        y = fq2_sqrt(f2_add(f2_mul(f2_mul(x, x), x), G2_B))
        if y is not None:
            p = (x, y)
            assert g2_is_on_curve(p) and not g2_in_subgroup(p)
            return p
        x = (x[0] + 1, x[1])


def test_g2_subgroup_batch_and_exact():
    good = [g2_mul(G2_GEN, k) for k in range(1, 12)] + [None]
    assert g2_all_in_subgroup(g2_array_from_points(good))
    assert g2_first_outside_subgroup(g2_array_from_points(good)) == -1
    bad = good[:7] + [_twist_point_outside_g2()] + good[7:]
    assert not g2_all_in_subgroup(g2_array_from_points(bad))
    assert g2_first_outside_subgroup(g2_array_from_points(bad)) == 7


@pytest.fixture(scope="module")
def prepared():
    return P.prepare_phase2(P.contribute(P.new_accumulator(4), "t", _secrets=(TAU, ALPHA, BETA)))


def _swap(arr: np.ndarray, i: int, j: int) -> np.ndarray:
    out = arr.copy()
    out[[i, j]] = out[[j, i]]
    return out


def test_ptau_validate_accepts_a_good_file(prepared):
    report = P.validate(prepared)
    assert report.ok, report.errors


def test_ptau_validate_finds_each_kind_of_damage(prepared):
    off_curve = prepared.tau_g1.copy()
    off_curve[3, 1, 0] ^= np.uint64(1)                     # y changed: off the curve
    r = P.validate(dataclasses.replace(prepared, tau_g1=off_curve))
    assert not r.ok and any("tauG1: point 3 is not on the G1 curve" in e for e in r.errors)
    outside = g2_array_from_points([_twist_point_outside_g2()])
    tau_g2 = prepared.tau_g2.copy()
    tau_g2[5] = outside[0]
    r = P.validate(dataclasses.replace(prepared, tau_g2=tau_g2))
    assert not r.ok and any("tauG2: point 5 is not in the order-r subgroup" in e for e in r.errors)
    # valid points in the wrong places: only the pairing / Lagrange checks see it
    r = P.validate(dataclasses.replace(prepared, lagrange_alpha_tau_g1=_swap(prepared.lagrange_alpha_tau_g1, 20, 21)))
    assert not r.ok and r.errors == ["Lagrange section alphaTauG1: block 2^4 does not match the powers"]
    r = P.validate(dataclasses.replace(prepared, beta_tau_g1=_swap(prepared.beta_tau_g1, 2, 3)))
    assert not r.ok and any("betaTauG1 section: powers do not match" in e for e in r.errors)


@pytest.fixture(scope="module")
def keys(make_tiny_r1cs, prepared):
    r1cs = make_tiny_r1cs()
    pk0 = new_proving_key(r1cs, prepared)
    pk, _ = phase2.contribute(pk0, "t")
    return r1cs, pk0, pk


def test_check_key_accepts_good_keys(keys, prepared):
    r1cs, pk0, pk = keys
    for key in (pk0, pk):
        report = phase2.check_key(key, r1cs, prepared)
        assert report.ok, report.errors
    assert phase2.check_key(pk, r1cs, None).ok            # without the ceremony: what it can


@pytest.mark.parametrize("field, expect", [
    ("a_g1", "A section does not match the ceremony's Lagrange basis"),
    ("b_g1", "B1 section does not match the ceremony's Lagrange basis"),
    ("b_g2", "B2 section does not match B1"),
    ("c_g1", "IC/C sections do not match the ceremony (C over delta)"),
    ("ic", "IC/C sections do not match the ceremony (C over delta)"),
    ("h_g1", "H section does not match the ceremony (over delta)"),
])
def test_check_key_finds_swapped_points(keys, prepared, field, expect):
    r1cs, _, pk = keys
    arr = getattr(pk, field)
    i, j = next((i, j) for i in range(arr.shape[0]) for j in range(i + 1, arr.shape[0])
                if not np.array_equal(arr[i], arr[j]))
    bad = dataclasses.replace(pk, **{field: _swap(arr, i, j)})
    report = phase2.check_key(bad, r1cs, prepared)
    assert not report.ok and expect in report.errors, report.errors


def test_check_key_finds_invalid_points_and_foreign_ceremony(keys, prepared):
    r1cs, _, pk = keys
    b2 = pk.b_g2.copy()
    b2[2] = g2_array_from_points([_twist_point_outside_g2()])[0]
    report = phase2.check_key(dataclasses.replace(pk, b_g2=b2), r1cs, prepared)
    assert not report.ok and report.errors == ["B2 section: point 2 is not in the order-r subgroup"]
    other = P.prepare_phase2(P.contribute(P.new_accumulator(4), "other", _secrets=(3, 5, 9)))
    report = phase2.check_key(pk, r1cs, other)
    assert not report.ok and "alpha/beta in the header differ from the ceremony's" in report.errors


# ---- the development cache ------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    return tmp_path


def test_dev_ptau_is_checked_recorded_and_reloaded(cache):
    from zkmargin.solvency.keys import dev_ptau

    lines = []
    acc = dev_ptau(3, lines.append)
    path = cache / "dev-power3.ptau"
    rec = json.loads((cache / "dev-power3.ptau.json").read_text())
    assert rec["made_by"] == "dev_ptau" and rec["sha256"] == dev_cache.sha256_file(path)
    assert rec["check"]["validator"] == dev_cache.VALIDATOR_VERSION
    assert any("checked" in ln for ln in lines)
    again = dev_ptau(3)
    assert np.array_equal(again.lagrange_tau_g1, acc.lagrange_tau_g1)


def test_a_changed_cached_ptau_is_reported_and_kept(cache):
    from zkmargin.solvency.keys import dev_ptau

    dev_ptau(3)
    path = cache / "dev-power3.ptau"
    acc = P.read_ptau(path)
    P.write_ptau(dataclasses.replace(acc, lagrange_beta_tau_g1=_swap(acc.lagrange_beta_tau_g1, 4, 5)), path)
    before = path.read_bytes()
    with pytest.raises(dev_cache.ArtifactError, match=r"dev-power3.ptau .*bytes differ.*made by dev_ptau.*left in place"):
        dev_ptau(3)
    assert path.read_bytes() == before                     # not deleted, not rebuilt
    (cache / "dev-power3.ptau.json").unlink()               # no record: the whole check runs
    with pytest.raises(dev_cache.ArtifactError, match=r"Lagrange section betaTauG1.*no record of what made it"):
        dev_ptau(3)
    assert path.read_bytes() == before


def test_an_unrecorded_good_file_is_checked_once_then_recorded(cache):
    from zkmargin.solvency.keys import dev_ptau

    dev_ptau(3)
    (cache / "dev-power3.ptau.json").unlink()
    dev_ptau(3)
    rec = dev_cache.read_record(cache / "dev-power3.ptau")
    assert rec["check"]["what"] == "re-checked when loaded"
    assert rec["sha256"] == dev_cache.sha256_file(cache / "dev-power3.ptau")


@pytest.mark.parametrize("step", ["contribute", "lagrange"])
def test_a_bad_fresh_ptau_names_its_step_and_is_not_cached(cache, monkeypatch, step):
    from zkmargin.solvency import keys as solvency

    if step == "contribute":
        real = P.contribute

        def broken(*a, **k):
            acc = real(*a, **k)
            return dataclasses.replace(acc, tau_g1=_swap(acc.tau_g1, 2, 3))
        monkeypatch.setattr(P, "contribute", broken)
        expect = "powersoftau new \\+ one contribution"
    else:
        real = solvency._prepared_sections

        def broken(*a, **k):
            secs = real(*a, **k)
            secs["lagrange_tau_g2"] = _swap(secs["lagrange_tau_g2"], 1, 2)
            return secs
        monkeypatch.setattr(solvency, "_prepared_sections", broken)
        expect = "Lagrange sections from the secrets"
    with pytest.raises(dev_cache.ArtifactError, match=f"step '{expect}.*Nothing was cached"):
        solvency.dev_ptau(3)
    assert list(cache.iterdir()) == []


def test_publish_never_overwrites(tmp_path):
    path = tmp_path / "x.bin"
    assert dev_cache.publish(path, b"first", {"format": dev_cache.RECORD_FORMAT})
    assert not dev_cache.publish(path, b"second", {"format": dev_cache.RECORD_FORMAT})
    assert path.read_bytes() == b"first"
    assert dev_cache.read_record(path)["sha256"] == dev_cache.sha256_file(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin", "x.bin.json"]




def _tiny_shape():
    from zkmargin.circuits.margin_circuits import Shape

    return Shape("worst_case", 1, 1, 1, 1)          # 1840 constraints: a 2^11 domain


def test_setup_keys_checks_caches_and_reuses(cache):
    from zkmargin.solvency.keys import setup_keys

    lines = []
    keys = setup_keys(_tiny_shape(), model="span16", progress=lines.append)
    zkeys = list(cache.glob("dev-*.zkey"))
    assert len(zkeys) == 1 and (cache / "dev-power11.ptau").exists()
    rec = dev_cache.read_record(zkeys[0])
    assert rec["made_by"] == "setup_keys" and rec["ptau"] == "dev-power11.ptau"
    assert any(ln.startswith("key checked in") for ln in lines)
    assert any("from the secrets of the development ptau just made" in ln for ln in lines)
    lines.clear()
    again = setup_keys(_tiny_shape(), model="span16", progress=lines.append)
    assert any("reusing the cached DEVELOPMENT-ONLY key" in ln for ln in lines)
    assert again.vk == keys.vk
    # an older cache: no record, and its ptau gone -> checked without the ptau, then recorded
    dev_cache.record_path(zkeys[0]).unlink()
    (cache / "dev-power11.ptau").unlink()
    setup_keys(_tiny_shape(), model="span16")
    assert dev_cache.read_record(zkeys[0])["check"]["what"] == "re-checked when loaded"
    assert not (cache / "dev-power11.ptau").exists()        # nothing rebuilt


@pytest.mark.parametrize("step", ["setup", "contribute"])
def test_a_bad_fresh_key_names_its_step_and_is_not_cached(cache, monkeypatch, step):
    from zkmargin.prover import setup as st
    from zkmargin.solvency.keys import setup_keys

    if step == "setup":
        real = st.new_proving_key
        monkeypatch.setattr(st, "new_proving_key",
                            lambda *a, **k: (lambda pk: dataclasses.replace(pk, a_g1=_swap(pk.a_g1, 0, 1)))(real(*a, **k)))
        expect = "groth16 setup"
    else:
        real = phase2.contribute

        def broken(*a, **k):
            pk, h = real(*a, **k)
            return dataclasses.replace(pk, h_g1=_swap(pk.h_g1, 0, 1)), h
        monkeypatch.setattr(phase2, "contribute", broken)
        expect = "one phase-2 contribution"
    with pytest.raises(dev_cache.ArtifactError, match=f"step '{expect}.*Nothing was cached"):
        setup_keys(_tiny_shape(), model="span16")
    assert list(cache.glob("dev-*.zkey")) == []
