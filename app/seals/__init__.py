"""E-seals (電子印): the seal PKI, PAdES signing and verification of approval documents.

The crypto core — ``pki`` (certificates, keys at rest, CRLs), ``sign`` (PAdES signatures with pyHanko,
file keys or PKCS#11) and ``verify`` (offline validation against the service's own root and CRLs) —
imports no Flask: it takes bytes, keys and certificates and returns bytes or reports, so it is tested
without an app. Models, services and views that use it live beside it.
"""
