pragma circom 2.0.0;

// Small circuit for zkmargin's interop tests: circomlib Poseidon, comparators and bits.
// Public: the commitment hash and a bound; private: two values and a salt.
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";

template Interop() {
    signal input bound;          // public
    signal input a;
    signal input b;
    signal input salt;
    signal output commitment;
    signal output less;

    component bitsA = Num2Bits(32);
    bitsA.in <== a;
    component bitsB = Num2Bits(32);
    bitsB.in <== b;

    component lt = LessThan(32);
    lt.in[0] <== a;
    lt.in[1] <== b;
    less <== lt.out;

    component le = LessEqThan(33);
    le.in[0] <== a + b;
    le.in[1] <== bound;
    le.out === 1;

    component h = Poseidon(3);
    h.inputs[0] <== a;
    h.inputs[1] <== b;
    h.inputs[2] <== salt;
    commitment <== h.out;
}

component main {public [bound]} = Interop();
