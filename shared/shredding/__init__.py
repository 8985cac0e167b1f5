"""Crypto-shredding (issue 14): personal fields sealed under a per-customer data key, and erasure by
destroying that key. A component only: no service seals anything with it yet.

`crypto` seals and opens field values (pure); `keystore` keeps the data keys (the `KeyStore` port and
its PostgreSQL implementation). Named apart from `shared.privacy` (masking), which a package of that
name would shadow.
"""
