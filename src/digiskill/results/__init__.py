"""Results, CV-ready certificates and screening.

:mod:`digiskill.results.signing` signs and verifies JSON-LD credentials with Data Integrity proofs
(``eddsa-rdfc-2022``); its JSON-LD contexts come from copies shipped with the package, never from the network.
"""
