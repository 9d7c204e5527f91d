"""Issue 11: on a cold machine the setup kernels returned points off the curve.

Cause: numba names a compiled function ``<module>.<qualname>`` + a per-process counter + the
argument types, and a cached kernel carries its callees' code under those names with
"one definition" linkage.  The overload implementations of ``algebra/curve.py`` were lambdas,
all called ``<lambda>``, so two different ones (``f_sqr`` and ``f_neg``, say) differed only by
that counter, which depends on the order a process compiles things in.  ``make demo`` first
builds the native kernels (process 1: numba compiles and caches their callees), then runs the
demo (process 2: loads some kernels from that cache, compiles others fresh); a fresh kernel
that links a cached one received two different bodies under one name, LLVM kept one, and
``contribute`` computed garbage.

The test replays that cold: an empty private numba cache, native module folder and dev cache;
process 1 builds the native kernels; process 2 runs the setup kernel sequence of ``make demo``
step 2 (contribute, Lagrange sections, their self-checks, Groth16 setup, phase-2 contribution,
prove, verify) and compares the results with Python-int references, curve and subgroup
checks.  Both processes also record every function numba compiles, and no two distinct Python
functions of zkmargin may share a compiled name.  About 3 minutes of CPU on 2 cores (numba
compiles everything twice, cold).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

DRIVER = r'''
import json, sys
from numba.core import bytecode

_names = {}
_from_function = bytecode.FunctionIdentity.from_function.__func__


def _recording(cls, pyfunc):
    ident = _from_function(cls, pyfunc)
    if ident.modname.startswith("zkmargin."):
        _names.setdefault(f"{ident.modname}.{ident.func_qualname}", set()).add(id(ident.func))
    return ident


bytecode.FunctionIdentity.from_function = classmethod(_recording)
problems = []


def report(**extra):
    shared = sorted(k for k, ids in _names.items() if len(ids) > 1)
    print("RESULT " + json.dumps({"compiled": len(_names), "shared_names": shared,
                                  "problems": problems, **extra}))


if sys.argv[1] == "native":
    from zkmargin.algebra import native
    stages = []
    native.build(progress=lambda what, done, total: stages.append([what, done, total]))
    report(stages=stages)
    sys.exit(0)

from dataclasses import replace

from zkmargin.algebra import (G1_GEN, G2_GEN, R, g1_is_on_curve, g1_mul, g1_points_from_array,
                              g2_in_subgroup, g2_mul, g2_points_from_array)
from zkmargin.circuits.builder import ConstraintSystem
from zkmargin.prover import phase2, ptau as pt, setup as st
from zkmargin.prover.groth16 import prove, verifying_key_of
from zkmargin.prover.known_tau import known_tau_proving_key
from zkmargin.solvency.keys import _prepared_sections, dev_ptau
from zkmargin.verifier.groth16 import verify


def expect(label, got, want):
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    if bad or len(got) != len(want):
        problems.append(f"{label}: {len(bad)} of {len(want)} points wrong (first {bad[:3]})")


def g1_valid(label, arr):
    bad = [i for i, p in enumerate(g1_points_from_array(arr)) if p is not None and not g1_is_on_curve(p)]
    if bad:
        problems.append(f"{label}: {len(bad)} of {arr.shape[0]} points off the curve (first {bad[:3]})")


def g2_valid(label, arr):
    bad = [i for i, p in enumerate(g2_points_from_array(arr)) if p is not None and not g2_in_subgroup(p)]
    if bad:
        problems.append(f"{label}: {len(bad)} of {arr.shape[0]} points outside G2 (first {bad[:3]})")


P = 4
TAU, ALPHA, BETA = (0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF % R, 987654321987654321,
                    55555555555555555)
acc = pt.contribute(pt.new_accumulator(P), "regression", _secrets=(TAU, ALPHA, BETA))
n = 2 ** P
expect("contribute tauG1", g1_points_from_array(acc.tau_g1),
       [g1_mul(G1_GEN, pow(TAU, i, R)) for i in range(2 * n - 1)])
expect("contribute tauG2", g2_points_from_array(acc.tau_g2), [g2_mul(G2_GEN, pow(TAU, i, R)) for i in range(n)])
expect("contribute alphaTauG1", g1_points_from_array(acc.alpha_tau_g1),
       [g1_mul(G1_GEN, ALPHA * pow(TAU, i, R)) for i in range(n)])
expect("contribute betaTauG1", g1_points_from_array(acc.beta_tau_g1),
       [g1_mul(G1_GEN, BETA * pow(TAU, i, R)) for i in range(n)])
expect("contribute betaG2", g2_points_from_array(acc.beta_g2), [g2_mul(G2_GEN, BETA)])

# the Lagrange sections as dev_ptau makes them (fixed-base multiplications from the secrets):
# valid points, and (ptau verify below) the same functional as the powers checked above
fast = replace(acc, **_prepared_sections(TAU, ALPHA, BETA, P))
for name in ("lagrange_tau_g1", "lagrange_alpha_tau_g1", "lagrange_beta_tau_g1"):
    g1_valid(name, getattr(fast, name))
g2_valid("lagrange_tau_g2", fast.lagrange_tau_g2)
g2_valid("tau_g2", fast.tau_g2)


def checked(label, fn):
    """fn() -> a verification report; a failure or an exception is a problem."""
    try:
        rep = fn()
    except Exception as e:  # broken kernels make the pairing code raise on invalid points
        problems.append(f"{label}: {type(e).__name__}: {str(e)[:200]}")
        return
    if not rep.ok:
        problems.append(f"{label}: " + "; ".join(rep.errors))


checked("ptau verify", lambda: pt.verify(fast))

cs = ConstraintSystem("cube")
x = cs.private("x", 3)
y = cs.public("y", 35)
x3 = cs.mul(cs.mul(x, x, "x2"), x, "x3")
cs.assert_equal(x3 + x + 5, y)
r1cs = cs.to_r1cs()
pk0 = st.new_proving_key(r1cs, fast)
ref = known_tau_proving_key(r1cs, TAU, ALPHA, BETA, 1)
for name in ("ic", "a_g1", "b_g1", "c_g1", "h_g1"):
    expect("setup " + name, g1_points_from_array(getattr(pk0, name)), g1_points_from_array(getattr(ref, name)))
expect("setup b_g2", g2_points_from_array(pk0.b_g2), g2_points_from_array(ref.b_g2))
pk, _ = phase2.contribute(pk0, "regression")
for name in ("ic", "a_g1", "b_g1", "c_g1", "h_g1"):
    g1_valid("contributed " + name, getattr(pk, name))
g2_valid("contributed b_g2", pk.b_g2)
checked("zkey verify", lambda: phase2.verify(pk, r1cs, fast, initial=pk0))


def proof_check():
    out = prove(pk, cs.witness_limbs())
    result = verify(verifying_key_of(pk), out.public_signals, out.proof)
    return pt.VerifyReport(result.valid, [] if result.valid else [result.reason])


checked("prove and verify", proof_check)
checked("dev_ptau(3)", lambda: pt.verify(dev_ptau(3)))
report()
'''


def _run(step: str, env: dict, tmp_path) -> dict:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.run([sys.executable, str(script), step], env=env, capture_output=True,
                          text=True, timeout=1200)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{step} process failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow(minutes=3)
def test_setup_kernels_after_a_cold_native_build(tmp_path):
    env = dict(os.environ)
    for var, sub in (("NUMBA_CACHE_DIR", "numba"), ("ZKMARGIN_NATIVE_DIR", "native"),
                     ("ZKMARGIN_CACHE", "dev")):
        (tmp_path / sub).mkdir()
        env[var] = str(tmp_path / sub)
    env["ZKMARGIN_KERNELS"] = "auto"
    built = _run("native", env, tmp_path)
    setup = _run("setup", env, tmp_path)
    assert built["compiled"] > 20 and setup["compiled"] > 20, (built, setup)   # really cold
    assert setup["problems"] == [], setup["problems"]
    assert built["shared_names"] == [] and setup["shared_names"] == [], (built, setup)
    # the build reported its stages (issue 11, progress): a kernel at a time, then the rest
    names = [w for w, _, _ in built["stages"]]
    assert names[-4:] == ["machine code (LLVM)", "C helpers", "linking", "done"], names
    assert all(w.startswith("kernel ") for w in names[:-4]) and len(names) > 10, names
    done = [d for _, d, _ in built["stages"]]
    assert done == sorted(done) and done[-1] == built["stages"][-1][2], built["stages"]
