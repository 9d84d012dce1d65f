"""Pure cryptographic primitives and key formats (minisign, age, BLAKE2b, keystore).

Thin wrappers over PyNaCl and pyrage; no home-made primitives, no I/O.
"""
