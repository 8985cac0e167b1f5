"""Crypto-shredding (issue 14): personal fields sealed under a per-customer data key, and erasure by
destroying that key.

`crypto` seals and opens one value (pure); `fields` seals an event's personal fields and opens the
tokens in any value (pure); `keystore` keeps the data keys (the `KeyStore` port and its PostgreSQL
implementation); `keyring` is what a service holds: sealing, opening, the access log, erasure.
Named apart from `shared.privacy` (masking), which a package of that name would shadow.
"""
